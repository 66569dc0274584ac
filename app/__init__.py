import warnings

# Connexion 3.3 imports Starlette's test client at start-up, which warns about httpx on
# every server process; the server never uses it.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
