// The control loop (clauses 6.2, 9.1, 9.2, 10.1) driven by an automation script through
// openapi-fetch's default client, typed by openapi-typescript from openapi/openapi.json.
//
//   ITSMS_URL=http://127.0.0.1:8080 ITSMS_ADMIN_PASSWORD=... node control-loop.mjs
//
// The first admin creates a service account and its API key (and a second auditor, who
// verifies the fix: whoever implemented a corrective action may not verify it). The script
// exchanges the key for an access token and walks plan → measure → audit → correct.
import createClient, { type Client } from "openapi-fetch";
import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import type { components, paths } from "../generated/typescript/api.js";

type Problem = components["schemas"]["Problem"];
type Step = components["schemas"]["CorrectiveActionTransition"];

const baseUrl = process.env.ITSMS_URL ?? "http://127.0.0.1:8080";
const run = randomBytes(3).toString("hex").toUpperCase(); // unique names on reused data

/** The body of a successful answer; a problem document stops the script. */
function ok<T>(answer: { data?: T; error?: Problem; response: Response }): T {
  if (answer.data === undefined) {
    throw new Error(`unexpected ${answer.response.status}: ${JSON.stringify(answer.error)}`);
  }
  return answer.data;
}

/** The typed problem document of a refused request, checked for its status and code. */
function problem(
  answer: { error?: Problem; response: Response },
  status: number,
  code: Problem["code"],
): Problem {
  const { error, response } = answer;
  assert.ok(error, `expected ${status} ${code}, got ${response.status}`);
  assert.deepEqual([response.status, error.code], [status, code], JSON.stringify(error));
  return error;
}

function authorized(token: string): Client<paths> {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

async function logIn(email: string, password: string): Promise<Client<paths>> {
  const anonymous = createClient<paths>({ baseUrl });
  const pair = ok(await anonymous.POST("/api/v1/auth/login", { body: { email, password } }));
  return authorized(pair.access_token);
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

const admin = await logIn(
  process.env.ITSMS_ADMIN_EMAIL ?? "admin@example.com",
  process.env.ITSMS_ADMIN_PASSWORD ?? "",
);

// The admin creates the automation's service account, its API key, and a second auditor.
const bot = ok(await admin.POST("/api/v1/users", { body: {
  email: `control-loop-${run.toLowerCase()}@example.com`, display_name: `Control loop ${run}`,
  kind: "service", roles: ["manager", "auditor"],
} }));
const key = ok(await admin.POST("/api/v1/users/{id}/api-keys", {
  params: { path: { id: bot.id } }, body: { name: "control loop" },
}));
const auditorEmail = `verifier-${run.toLowerCase()}@example.com`;
const auditorPassword = randomBytes(18).toString("base64url");
ok(await admin.POST("/api/v1/users", { body: {
  email: auditorEmail, display_name: `Verifier ${run}`, kind: "person", roles: ["auditor"],
  password: auditorPassword,
} }));

// The script exchanges its API key for an access token.
const anonymous = createClient<paths>({ baseUrl });
const pair = ok(await anonymous.POST("/api/v1/auth/token", { body: { api_key: key.key } }));
const api = authorized(pair.access_token);

// 5.3 and 4.4: an SMS role and the process it owns.
const role = ok(await api.POST("/api/v1/roles", { body: {
  name: `Incident manager ${run}`, responsibilities: ["Restore service quickly"],
} }));
const process_ = ok(await api.POST("/api/v1/processes", { body: {
  code: `INC-${run}`, name: `Incident management ${run}`, clauses: ["8.6.1"], owner_role_id: role.id,
} }));

// 6.2 and 9.1: an objective with its plan, activated, then measured.
const objective = ok(await api.POST("/api/v1/objectives", { body: {
  title: "Restore P1 incidents within 4 hours", process_id: process_.id, owner_role_id: role.id,
  metric: "P1 incidents restored within 4 h", unit: "%", baseline: 80, target: 92, comparator: "gte",
  due_date: inDays(365),
  plan: { what: "Automate triage", resources: "Two engineers", responsible: "Incident manager",
          completion: "Within the year", evaluation: "Monthly report to management" },
} }));
const objectivePath = { params: { path: { id: objective.id } } };
const active = ok(await api.POST("/api/v1/objectives/{id}/transitions", {
  ...objectivePath, body: { action: "activate" },
}));
assert.equal(active.state, "active");
ok(await api.POST("/api/v1/objectives/{id}/measurements", { ...objectivePath, body: {
  value: 93, measured_at: new Date(Date.now() - 60_000).toISOString(),
} }));
const measured = ok(await api.GET("/api/v1/objectives/{id}", objectivePath));
assert.deepEqual([measured.latest_value, measured.attainment], [93, "met"]);

// 9.2: an audit led by the service account (it holds no role owning the process), started,
// and a major nonconformity.
const audit = ok(await api.POST("/api/v1/audits", { body: {
  title: `Internal audit: incident management ${run}`, kind: "internal", scope_clauses: ["8.6.1"],
  scope_process_ids: [process_.id], lead_auditor_id: bot.id, criteria: "ISO/IEC 20000-1:2018 clause 8.6.1",
} }));
const auditPath = { params: { path: { id: audit.id } } };
ok(await api.POST("/api/v1/audits/{id}/transitions", { ...auditPath, body: { action: "start" } }));
const finding = ok(await api.POST("/api/v1/audits/{id}/findings", { ...auditPath, body: {
  type: "major_nonconformity", clause: "8.6.1", process_id: process_.id,
  statement: "P1 incidents are not classified", evidence: "INC-104, INC-131",
} }));

// 10.1: a corrective action for the finding, owned by the service account.
const action = ok(await api.POST("/api/v1/corrective-actions", { body: {
  title: "Classify every P1 incident", nonconformity: "P1 incidents are not classified",
  source: "audit_finding", finding_id: finding.id, owner_id: bot.id, due_date: inDays(30),
} }));
const step = (client: Client<paths>, body: Step) =>
  client.POST("/api/v1/corrective-actions/{id}/transitions", { params: { path: { id: action.id } }, body });

// Errors arrive as typed problem documents: an action not allowed now names those that are,
// a missing precondition names each field it needs.
const refused = problem(await step(api, { action: "close" }), 409, "invalid_transition");
assert.ok(refused.allowed_actions?.includes("investigate"), JSON.stringify(refused));
const missing = problem(await step(api, { action: "investigate" }), 422, "precondition_missing");
assert.deepEqual(missing.errors?.map((e) => e.field), ["correction"]);

ok(await step(api, { action: "investigate", correction: "Open P1 incidents classified by hand" }));
ok(await step(api, { action: "plan", root_cause: "The triage form lets classification be skipped",
                     action_plan: "Make classification mandatory" }));
ok(await step(api, { action: "implement", implementation: "Classification is mandatory" }));
// Separation of duties: the implementer may not verify its own work.
const own = await step(api, { action: "verify", effective: true, effectiveness_review: "Fine" });
problem(own, 403, "forbidden");
const verifier = await logIn(auditorEmail, auditorPassword);
ok(await step(verifier, {
  action: "verify", effective: true, effectiveness_review: "No unclassified P1 incident since",
}));
const closed = ok(await step(verifier, { action: "close" }));
assert.equal(closed.state, "closed");

// Closing the action closed its finding.
const findingNow = ok(await api.GET("/api/v1/findings/{id}", { params: { path: { id: finding.id } } }));
assert.equal(findingNow.state, "closed");
console.log(`typescript: control loop closed (process ${process_.code}, corrective action ${closed.id})`);
