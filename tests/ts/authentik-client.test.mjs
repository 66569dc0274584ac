// authentik's own TypeScript client (@goauthentik/api, generated from authentik's schema)
// against this server, unchanged: the scenario of the Python client test. Run by
// tests/test_sdk.py, which starts the server and passes its address and a token.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Configuration,
  FlowDesignationEnum,
  FlowsApi,
  PropertymappingsApi,
  ResponseError,
  SourcesApi,
} from "@goauthentik/api";

const configuration = new Configuration({
  basePath: `${process.env.PLEX_API_BASE}/api/v3`,
  accessToken: process.env.PLEX_API_TOKEN,
});
const sources = new SourcesApi(configuration);
const flows = new FlowsApi(configuration);
const mappings = new PropertymappingsApi(configuration);

test("authentik's TypeScript client drives a whole scenario", async () => {
  const flow = await flows.flowsInstancesCreate({
    flowRequest: {
      name: "Plex login",
      slug: "ts-plex-login",
      title: "Log in with Plex",
      designation: FlowDesignationEnum.Authentication,
    },
  });
  const mapping = await mappings.propertymappingsSourcePlexCreate({
    plexSourcePropertyMappingRequest: { name: "TS email", expression: "return {}" },
  });
  const created = await sources.sourcesPlexCreate({
    plexSourceRequest: {
      name: "TS Plex",
      slug: "ts-plex",
      plexToken: "owner-token",
      authenticationFlow: flow.pk,
      userPropertyMappings: [mapping.pk],
      allowedServers: ["server-a"],
    },
  });
  assert.equal(created.slug, "ts-plex");
  assert.equal(created.component, "ak-source-plex-form");
  assert.equal(created.clientId.length, 40);

  const listed = await sources.sourcesPlexList({ search: "ts plex" });
  assert.deepEqual(listed.results.map((source) => source.slug), ["ts-plex"]);
  assert.equal(listed.pagination.count, 1);

  const retrieved = await sources.sourcesPlexRetrieve({ slug: "ts-plex" });
  assert.deepEqual(retrieved.userPropertyMappings, [mapping.pk]);

  const patched = await sources.sourcesPlexPartialUpdate({
    slug: "ts-plex",
    patchedPlexSourceRequest: { name: "TS Plex, renamed", allowFriends: false },
  });
  assert.equal(patched.name, "TS Plex, renamed");
  assert.equal(patched.allowFriends, false);

  const usedBy = await flows.flowsInstancesUsedByList({ slug: "ts-plex-login" });
  assert.deepEqual(
    usedBy.map((entry) => [entry.modelName, entry.name, entry.action]),
    [["source", "TS Plex, renamed", "set_null"]],
  );

  const refusal = await sources
    .sourcesPlexCreate({ plexSourceRequest: { name: "", slug: "not a slug", plexToken: "t" } })
    .then(
      () => assert.fail("a 400 was expected"),
      (error) => error,
    );
  assert.ok(refusal instanceof ResponseError);
  assert.equal(refusal.response.status, 400);
  assert.deepEqual(await refusal.response.json(), {
    name: ["This field may not be blank."],
    slug: ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'],
  });

  await sources.sourcesPlexDestroy({ slug: "ts-plex" });
  await assert.rejects(sources.sourcesPlexRetrieve({ slug: "ts-plex" }), (error) => {
    assert.equal(error.response.status, 404);
    return true;
  });
});
