"""`make bench`: the API's throughput and latency, measured against a ceiling app."""
