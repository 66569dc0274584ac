// Types generated from our spec (openapi-typescript) used through a typed fetch client
// (openapi-fetch), compiled with `tsc --strict`: the paths, bodies and answers a client
// writes against are the spec's. tests/test_sdk.py generates `plex-api.d.ts` beside the
// compiled file, compiles this (ESM: .mts), and runs it against the server.
import assert from "node:assert/strict";

import createClient from "openapi-fetch";

import type { components, paths } from "./plex-api.js";

type PlexSource = components["schemas"]["PlexSource"];

const client = createClient<paths>({
  baseUrl: `${process.env.PLEX_API_BASE}/api/v3`,
  headers: { Authorization: `Bearer ${process.env.PLEX_API_TOKEN}` },
});

async function main(): Promise<void> {
  const created = await client.POST("/sources/plex/", {
    body: { name: "Typed Plex", slug: "typed-plex", plex_token: "owner-token" },
  });
  assert.equal(created.response.status, 201);
  const source: PlexSource | undefined = created.data;
  assert.equal(source?.slug, "typed-plex");

  const listed = await client.GET("/sources/plex/", {
    params: { query: { search: "typed", ordering: "-name", page_size: 5 } },
  });
  assert.deepEqual(listed.data?.results.map((s) => s.slug), ["typed-plex"]);

  const rejected = await client.POST("/sources/plex/", {
    body: { name: "Typed", slug: "not a slug", plex_token: "t" },
  });
  assert.equal(rejected.response.status, 400);
  assert.deepEqual(rejected.error, {
    slug: ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'],
  });

  const removed = await client.DELETE("/sources/plex/{slug}/", {
    params: { path: { slug: "typed-plex" } },
  });
  assert.equal(removed.response.status, 204);
  console.log("typed fetch scenario: ok");
}

await main();
