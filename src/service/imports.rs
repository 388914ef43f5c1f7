//! Bulk imports: many records of one collection in one request, all or nothing.
//!
//! A row holds what a create takes, plus `id` (kept when given), `state` (for workflow
//! resources: taken when the record meets what the workflow needs to reach it) and the
//! fields that state carries (a process's `raci`, a risk's `acceptance_rationale`). The
//! other fields of the collection's representation (its export's read-only columns) are
//! ignored. References name a record by id or by natural key: an SMS role by name, a
//! process by code, a user by email.
//!
//! Every row is checked before anything is written, and every problem of every row is
//! answered at once. Then the records are created in one transaction, each through the one
//! write path with its own audit row.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::DatabaseTransaction;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{Caller, begin_write, new_id, write};
use crate::domain::DomainError;
use crate::domain::competence::{self, TrainingRecordFields};
use crate::domain::document::{self, DocumentFields, DocumentState};
use crate::domain::import::{path_to, row_field, unmet_state_message};
use crate::domain::process::{self, ProcessFields, ProcessState, RaciAssignment};
use crate::domain::risk::{self, RiskFields, RiskState};
use crate::domain::sms_role::{self, SmsRoleFields};
use crate::domain::validation::{FieldError, Validator, dedup};
use crate::domain::workflow::TextEnum;
use crate::error::Result;
use crate::persistence::documents::{self as stored_documents, StoredDocument};
use crate::persistence::imports::{self as lookup, Referenced};
use crate::persistence::processes::{self as stored_processes, StoredProcess};
use crate::persistence::risks::{self as stored_risks, StoredRisk};
use crate::persistence::sms_roles::{self as stored_roles, StoredSmsRole};
use crate::persistence::training_records::{self as stored_training, StoredTrainingRecord};

pub use crate::domain::import::ImportResource;

/// One row of an import: its number (from 1, as the file counts them) and its values by
/// field name.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: usize,
    pub values: Map<String, Value>,
    /// What was wrong with the row before its values could be read (a CSV cell that is
    /// not JSON, a row of the wrong length): `(field, message)`, the field within the row.
    pub problems: Vec<(String, String)>,
}

impl Row {
    pub fn new(number: usize, values: Map<String, Value>) -> Row {
        Row {
            number,
            values,
            problems: Vec::new(),
        }
    }
}

/// The answer of an import.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportResult {
    pub resource: ImportResource,
    /// `true`: everything was checked and nothing written.
    pub dry_run: bool,
    /// How many records were created (or, on a dry run, would be).
    #[schema(minimum = 0, maximum = 1000000, format = Int64)]
    pub count: u64,
    /// The ids of the created records, in the order of the rows (empty on a dry run).
    #[schema(value_type = Vec<uuid::Uuid>, max_items = 1000000)]
    pub ids: Vec<String>,
}

/// How a column's CSV cell is read back into its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Text (also dates, enums and ids): the cell less one leading `'`.
    Text,
    /// A number, a boolean, a list or an object: the cell is JSON.
    Json,
    /// A read-only column of the export: not read.
    Ignored,
}

/// The columns an import of a collection knows.
#[derive(Debug, Clone)]
pub struct Columns {
    pub kinds: Vec<(String, CellKind)>,
    /// Columns every row needs (those a create requires).
    pub required: Vec<String>,
}

impl Columns {
    pub fn kind(&self, column: &str) -> Option<CellKind> {
        self.kinds
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, kind)| *kind)
    }
}

/// The columns of each import: the create body's fields, `id`, `state` and what a state
/// carries, and, ignored, the rest of the export's columns.
pub fn columns(resource: ImportResource) -> Columns {
    use crate::service::{documents, processes, risks, sms_roles, training_records};
    let (body, shown, extras): (Shape, Shape, &[(&str, CellKind)]) = match resource {
        ImportResource::Processes => (
            shape::<ProcessFields>(),
            shape::<processes::Process>(),
            &[
                ("id", CellKind::Text),
                ("state", CellKind::Text),
                ("raci", CellKind::Json),
            ],
        ),
        ImportResource::Roles => (
            shape::<SmsRoleFields>(),
            shape::<sms_roles::SmsRole>(),
            &[("id", CellKind::Text)],
        ),
        ImportResource::Documents => (
            shape::<DocumentFields>(),
            shape::<documents::Document>(),
            &[("id", CellKind::Text), ("state", CellKind::Text)],
        ),
        ImportResource::Risks => (
            shape::<RiskFields>(),
            shape::<risks::Risk>(),
            &[
                ("id", CellKind::Text),
                ("state", CellKind::Text),
                ("acceptance_rationale", CellKind::Text),
            ],
        ),
        ImportResource::TrainingRecords => (
            shape::<TrainingRecordFields>(),
            shape::<training_records::TrainingRecord>(),
            &[("id", CellKind::Text)],
        ),
    };
    let mut kinds: Vec<(String, CellKind)> = body
        .properties
        .iter()
        .map(|(name, text)| {
            let kind = if *text {
                CellKind::Text
            } else {
                CellKind::Json
            };
            (name.clone(), kind)
        })
        .collect();
    kinds.extend(extras.iter().map(|(n, k)| (n.to_string(), *k)));
    for (name, _) in shown.properties {
        if !kinds.iter().any(|(known, _)| *known == name) {
            kinds.push((name, CellKind::Ignored));
        }
    }
    Columns {
        kinds,
        required: body.required,
    }
}

/// The properties of a schema (through references and `allOf`), each with whether it holds
/// text, and the required ones.
#[derive(Default)]
struct Shape {
    properties: Vec<(String, bool)>,
    required: Vec<String>,
}

fn shape<T: ToSchema>() -> Shape {
    let mut referenced = Vec::new();
    T::schemas(&mut referenced);
    let named: HashMap<String, Value> = referenced
        .into_iter()
        .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
        .collect();
    let mut out = Shape::default();
    let schema = serde_json::to_value(T::schema()).unwrap_or_default();
    collect_shape(&schema, &named, &mut out);
    out
}

fn target<'a>(schema: &Value, named: &'a HashMap<String, Value>) -> Option<Option<&'a Value>> {
    let name = schema["$ref"].as_str()?.rsplit('/').next()?;
    Some(named.get(name))
}

fn collect_shape(schema: &Value, named: &HashMap<String, Value>, out: &mut Shape) {
    if let Some(found) = target(schema, named) {
        if let Some(found) = found {
            collect_shape(found, named, out);
        }
        return;
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        if !out.properties.iter().any(|(known, _)| known == name) {
            out.properties
                .push((name.clone(), holds_text(property, named)));
        }
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        if let Some(name) = name.as_str() {
            out.required.push(name.to_string());
        }
    }
    for member in schema["allOf"].as_array().into_iter().flatten() {
        collect_shape(member, named, out);
    }
}

/// Whether a value of this schema is text (strings, dates, enums of text), through
/// references and nullable wrappers; a schema that cannot be resolved counts as text.
fn holds_text(schema: &Value, named: &HashMap<String, Value>) -> bool {
    if let Some(found) = target(schema, named) {
        return found.is_none_or(|s| holds_text(s, named));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(members) = schema[key].as_array() {
            return members
                .iter()
                .filter(|m| m["type"] != "null")
                .any(|m| holds_text(m, named));
        }
    }
    match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(types) => {
            types.iter().any(|t| t == "string")
                && !types.iter().any(|t| t == "array" || t == "object")
        }
        _ => schema.get("enum").is_some(),
    }
}

/// Imports `rows` as new records of `resource`: all of them, or none (a refusal lists every
/// problem of every row). A dry run checks everything and writes nothing.
pub async fn import(
    db: &sea_orm::DatabaseConnection,
    caller: &Caller,
    resource: ImportResource,
    rows: Vec<Row>,
    dry_run: bool,
) -> Result<ImportResult> {
    caller.ensure(caller.principal.can_manage_sms(), "import records")?;
    if rows.is_empty() {
        return Err(DomainError::invalid("rows", "the import holds no rows").into());
    }
    let columns = columns(resource);
    let tx = begin_write(db).await?;
    let mut import = Import {
        tx: &tx,
        caller,
        columns: &columns,
        errors: Vec::new(),
        dry_run,
    };
    let ids = match resource {
        ImportResource::Processes => import.processes(rows).await?,
        ImportResource::Roles => import.roles(rows).await?,
        ImportResource::Documents => import.documents(rows).await?,
        ImportResource::Risks => import.risks(rows).await?,
        ImportResource::TrainingRecords => import.training_records(rows).await?,
    };
    let count = ids.len() as u64;
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(ImportResult {
        resource,
        dry_run,
        count,
        ids: if dry_run { Vec::new() } else { ids },
    })
}

/// A row read into its create body, with what the import takes beside it.
struct Parsed<T> {
    number: usize,
    id: Option<String>,
    state: Option<String>,
    extras: Map<String, Value>,
    body: T,
}

/// What the records' ids and references resolve to, and the problems found so far.
struct Import<'a> {
    tx: &'a DatabaseTransaction,
    caller: &'a Caller,
    columns: &'a Columns,
    errors: Vec<(usize, FieldError)>,
    dry_run: bool,
}

/// The values a reference may hold, from id or natural key, resolved to ids.
struct Resolved {
    referenced: Referenced,
    ids: HashMap<String, String>,
}

impl Resolved {
    fn get(&self, value: &str) -> Option<String> {
        self.ids.get(value).cloned()
    }

    fn unknown(&self) -> &'static str {
        match self.referenced.table {
            "sms_roles" => "must be the id or the name of an existing SMS role",
            "processes" => "must be the id or the code of an existing process",
            "users" => "must be the id or the email of an existing user",
            "corrective_actions" => "must be the id of an existing corrective action",
            _ => "must be the id of an existing improvement",
        }
    }
}

impl<'a> Import<'a> {
    fn error(&mut self, row: usize, field: &str, message: impl Into<String>) {
        self.errors
            .push((row, FieldError::new(row_field(row, field), message)));
    }

    /// The problems of a domain refusal, on their row.
    fn refused(&mut self, row: usize, error: DomainError) {
        self.refused_as(row, error, |field| field.to_string());
    }

    fn refused_as(&mut self, row: usize, error: DomainError, rename: impl Fn(&str) -> String) {
        match error {
            DomainError::Validation(errors) | DomainError::PreconditionMissing(errors) => {
                for e in errors {
                    self.error(row, &rename(&e.field), e.message);
                }
            }
            other => self.error(row, "", other.to_string()),
        }
    }

    /// Reads every row into `T`, noting the problems of each.
    fn parse<T: DeserializeOwned>(&mut self, rows: Vec<Row>) -> Vec<Parsed<T>> {
        let mut parsed = Vec::with_capacity(rows.len());
        for row in rows {
            let number = row.number;
            if !row.problems.is_empty() {
                for (field, message) in row.problems {
                    self.error(number, &field, message);
                }
                continue;
            }
            let mut values = row.values;
            values.retain(|name, _| self.columns.kind(name) != Some(CellKind::Ignored));
            if let Some(field) = nul_field(&values) {
                self.error(number, &field, "must not contain the NUL character");
                continue;
            }
            let mut ok = true;
            let id = match values.remove("id") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => match uuid::Uuid::parse_str(s.trim()) {
                    Ok(uuid) => Some(uuid.hyphenated().to_string()),
                    Err(_) => {
                        self.error(number, "id", "must be a UUID, or empty for a new id");
                        ok = false;
                        None
                    }
                },
                Some(_) => {
                    self.error(number, "id", "must be a UUID, or empty for a new id");
                    ok = false;
                    None
                }
            };
            let takes_state = self.columns.kind("state").is_some();
            let state = match values.remove("state").filter(|_| takes_state) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(s.trim().to_string()),
                Some(_) => {
                    self.error(number, "state", "must be the name of a state");
                    ok = false;
                    None
                }
            };
            let mut extras = Map::new();
            for name in extra_names(self.columns) {
                if let Some(value) = values.remove(&name) {
                    extras.insert(name, value);
                }
            }
            match from_map::<T>(values) {
                Ok(body) if ok => parsed.push(Parsed {
                    number,
                    id,
                    state,
                    extras,
                    body,
                }),
                Ok(_) => {}
                Err(e) => self.error(number, &e.field, e.message),
            }
        }
        parsed
    }

    /// Resolves every value `values` yields against `referenced`.
    async fn resolve<'v>(
        &self,
        referenced: Referenced,
        values: impl Iterator<Item = &'v str>,
    ) -> Result<Resolved> {
        let wanted: HashSet<String> = values
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        let ids = lookup::resolve(self.tx, referenced, &wanted).await?;
        Ok(Resolved { referenced, ids })
    }

    /// A reference of a row, as an id: unknown ones are noted.
    fn reference(
        &mut self,
        row: usize,
        field: &str,
        value: &Option<String>,
        resolved: &Resolved,
    ) -> Option<String> {
        let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
        let id = resolved.get(value);
        if id.is_none() {
            self.error(row, field, resolved.unknown());
        }
        id
    }

    /// Ids given in the file must be new: neither twice in it nor in `table` already.
    async fn check_ids<T>(
        &mut self,
        table: &str,
        records: &[(usize, Option<String>, T)],
    ) -> Result<()> {
        let given: Vec<(usize, String)> = records
            .iter()
            .filter_map(|(n, id, _)| Some((*n, id.clone()?)))
            .collect();
        self.check_unique((table, "id", "a record"), "id", &given)
            .await
    }

    /// A unique natural key (`field`, compared as `key` gives it) must be new: neither
    /// twice in the file nor in the table already.
    async fn check_unique(
        &mut self,
        (table, column, noun): (&str, &str, &str),
        field: &str,
        keys: &[(usize, String)],
    ) -> Result<()> {
        let values: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
        let taken = lookup::taken(self.tx, table, column, &values).await?;
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut found = Vec::new();
        for (row, key) in keys {
            if let Some(earlier) = first.get(key.as_str()) {
                found.push((*row, format!("is the {field} of row {earlier} too")));
            } else if taken.contains(key) {
                found.push((*row, format!("{noun} with this {field} exists already")));
            }
            first.entry(key).or_insert(*row);
        }
        for (row, message) in found {
            self.error(row, field, message);
        }
        Ok(())
    }

    /// Refuses the import when any row has a problem, every problem listed in row order.
    fn finish(&mut self) -> Result<()> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let mut errors = std::mem::take(&mut self.errors);
        errors.sort_by_key(|(row, _)| *row);
        Err(DomainError::Validation(errors.into_iter().map(|(_, e)| e).collect()).into())
    }

    fn today(&self) -> NaiveDate {
        self.caller.now.date_naive()
    }

    /// The state a row asks for, `initial` when it names none.
    fn state<S: TextEnum>(&mut self, row: usize, given: &Option<String>, initial: S) -> Option<S> {
        match given {
            None => Some(initial),
            Some(text) => {
                let state = S::parse(text);
                if state.is_none() {
                    let names: Vec<&str> = S::ALL.iter().map(|s| s.as_str()).collect();
                    self.error(row, "state", format!("must be one of {}", names.join(", ")));
                }
                state
            }
        }
    }

    async fn processes(&mut self, rows: Vec<Row>) -> Result<Vec<String>> {
        let rows = self.parse::<ProcessFields>(rows);
        let mut raci_of: HashMap<usize, Vec<RaciAssignment>> = HashMap::new();
        for r in &rows {
            match r.extras.get("raci") {
                None | Some(Value::Null) => {}
                Some(value) => match from_value::<Vec<RaciAssignment>>(value.clone()) {
                    Ok(raci) => {
                        raci_of.insert(r.number, raci);
                    }
                    Err(e) => {
                        let field = format!("raci{}", e.field.trim_start_matches("body"));
                        self.error(r.number, &field, e.message);
                    }
                },
            }
        }
        let roles = self
            .resolve(
                lookup::SMS_ROLES,
                rows.iter()
                    .filter_map(|r| r.body.owner_role_id.as_deref())
                    .chain(raci_of.values().flatten().map(|a| a.role_id.as_str())),
            )
            .await?;
        let mut records = Vec::new();
        for r in rows {
            let n = r.number;
            let mut fields = match process::validate(r.body) {
                Ok(fields) => fields,
                Err(e) => {
                    self.refused(n, e);
                    continue;
                }
            };
            fields.owner_role_id =
                self.reference(n, "owner_role_id", &fields.owner_role_id, &roles);
            let mut raci = raci_of.remove(&n).unwrap_or_default();
            let mut known = true;
            for (i, a) in raci.iter_mut().enumerate() {
                match self.reference(
                    n,
                    &format!("raci[{i}].role_id"),
                    &Some(a.role_id.clone()),
                    &roles,
                ) {
                    Some(id) => a.role_id = id,
                    None => known = false,
                }
            }
            if !known {
                continue;
            }
            let raci = match process::validate_raci(raci) {
                Ok(raci) => raci,
                Err(e) => {
                    self.refused_as(n, e, |f| f.replacen("assignments", "raci", 1));
                    continue;
                }
            };
            let Some(state) = self.state(n, &r.state, ProcessState::Draft) else {
                continue;
            };
            let record = process::Process {
                fields,
                state: ProcessState::Draft,
                raci,
            };
            if let Err(unmet) = path_to(
                process::WORKFLOW,
                ProcessState::Draft,
                state,
                &self.caller.principal,
                &record,
            ) {
                self.error(n, "state", unmet_state_message(state.as_str(), &unmet));
                continue;
            }
            records.push((n, r.id, process::Process { state, ..record }));
        }
        self.check_ids("processes", &records).await?;
        let codes: Vec<(usize, String)> = records
            .iter()
            .map(|(n, _, p)| (*n, p.fields.code.clone()))
            .collect();
        self.check_unique(("processes", "code", "a process"), "code", &codes)
            .await?;
        self.finish()?;
        self.write::<StoredProcess, _>(records, async |tx, id, process, at| {
            stored_processes::insert_process(tx, id, &process, at).await
        })
        .await
    }

    async fn roles(&mut self, rows: Vec<Row>) -> Result<Vec<String>> {
        let rows = self.parse::<SmsRoleFields>(rows);
        let users = self
            .resolve(
                lookup::USERS,
                rows.iter()
                    .flat_map(|r| r.body.member_ids.iter().map(String::as_str)),
            )
            .await?;
        let mut records = Vec::new();
        for r in rows {
            let n = r.number;
            let mut fields = match sms_role::validate(r.body) {
                Ok(fields) => fields,
                Err(e) => {
                    self.refused(n, e);
                    continue;
                }
            };
            let mut members = Vec::new();
            for (i, member) in fields.member_ids.iter().enumerate() {
                let field = format!("member_ids[{i}]");
                if let Some(id) = self.reference(n, &field, &Some(member.clone()), &users) {
                    members.push(id);
                }
            }
            fields.member_ids = dedup(&members);
            records.push((n, r.id, fields));
        }
        self.check_ids("sms_roles", &records).await?;
        let names: Vec<(usize, String)> = records
            .iter()
            .map(|(n, _, f)| (*n, f.name.to_lowercase()))
            .collect();
        self.check_unique(("sms_roles", "name_key", "an SMS role"), "name", &names)
            .await?;
        self.finish()?;
        self.write::<StoredSmsRole, _>(records, async |tx, id, fields, at| {
            stored_roles::insert(tx, id, &fields, at).await
        })
        .await
    }

    async fn documents(&mut self, rows: Vec<Row>) -> Result<Vec<String>> {
        let rows = self.parse::<DocumentFields>(rows);
        let roles = self
            .resolve(
                lookup::SMS_ROLES,
                rows.iter().filter_map(|r| r.body.owner_role_id.as_deref()),
            )
            .await?;
        let mut records = Vec::new();
        for r in rows {
            let n = r.number;
            let mut fields = match document::validate(r.body) {
                Ok(fields) => fields,
                Err(e) => {
                    self.refused(n, e);
                    continue;
                }
            };
            fields.owner_role_id =
                self.reference(n, "owner_role_id", &fields.owner_role_id, &roles);
            let Some(state) = self.state(n, &r.state, DocumentState::Draft) else {
                continue;
            };
            let mut record = document::Document {
                fields,
                state: DocumentState::Draft,
                approved_by: None,
                approved_at: None,
            };
            let path = match path_to(
                document::WORKFLOW,
                DocumentState::Draft,
                state,
                &self.caller.principal,
                &record,
            ) {
                Ok(path) => path,
                Err(unmet) => {
                    self.error(n, "state", unmet_state_message(state.as_str(), &unmet));
                    continue;
                }
            };
            // Each step as a transition would take it: approval records the importer and
            // the time of the import.
            for action in path {
                let to = document::WORKFLOW
                    .iter()
                    .find(|t| t.from == record.state && t.action == action)
                    .map_or(record.state, |t| t.to);
                record =
                    document::after_transition(&record, to, self.caller.user_id(), self.caller.now);
            }
            records.push((n, r.id, record));
        }
        self.check_ids("documents", &records).await?;
        self.finish()?;
        self.write::<StoredDocument, _>(records, async |tx, id, document, at| {
            stored_documents::insert(tx, id, &document, at).await
        })
        .await
    }

    async fn risks(&mut self, rows: Vec<Row>) -> Result<Vec<String>> {
        let rows = self.parse::<RiskFields>(rows);
        let roles = self
            .resolve(
                lookup::SMS_ROLES,
                rows.iter().filter_map(|r| r.body.owner_role_id.as_deref()),
            )
            .await?;
        let processes = self
            .resolve(
                lookup::PROCESSES,
                rows.iter().filter_map(|r| r.body.process_id.as_deref()),
            )
            .await?;
        let actions = self
            .resolve(
                lookup::CORRECTIVE_ACTIONS,
                rows.iter()
                    .filter_map(|r| r.body.corrective_action_id.as_deref()),
            )
            .await?;
        let improvements = self
            .resolve(
                lookup::IMPROVEMENTS,
                rows.iter().filter_map(|r| r.body.improvement_id.as_deref()),
            )
            .await?;
        let mut records = Vec::new();
        for r in rows {
            let n = r.number;
            let mut fields = match risk::validate(r.body) {
                Ok(fields) => fields,
                Err(e) => {
                    self.refused(n, e);
                    continue;
                }
            };
            fields.owner_role_id =
                self.reference(n, "owner_role_id", &fields.owner_role_id, &roles);
            fields.process_id = self.reference(n, "process_id", &fields.process_id, &processes);
            fields.corrective_action_id = self.reference(
                n,
                "corrective_action_id",
                &fields.corrective_action_id,
                &actions,
            );
            fields.improvement_id =
                self.reference(n, "improvement_id", &fields.improvement_id, &improvements);
            let rationale = match r.extras.get("acceptance_rationale") {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => {
                    let mut v = Validator::new();
                    let text = v.optional_text("acceptance_rationale", Some(text), 10_000);
                    if let Err(e) = v.finish() {
                        self.refused(n, e);
                        continue;
                    }
                    text
                }
                Some(_) => {
                    self.error(n, "acceptance_rationale", "must be text");
                    continue;
                }
            };
            let Some(state) = self.state(n, &r.state, RiskState::Identified) else {
                continue;
            };
            if rationale.is_some() && !matches!(state, RiskState::Accepted | RiskState::Closed) {
                self.error(
                    n,
                    "acceptance_rationale",
                    format!(
                        "only an accepted risk (or one closed after it was accepted) has a rationale; \
                         this one is `{state}`"
                    ),
                );
                continue;
            }
            let record = risk::Risk {
                fields,
                state: RiskState::Identified,
                acceptance_rationale: rationale,
            };
            if let Err(unmet) = path_to(
                risk::WORKFLOW,
                RiskState::Identified,
                state,
                &self.caller.principal,
                &record,
            ) {
                self.error(n, "state", unmet_state_message(state.as_str(), &unmet));
                continue;
            }
            records.push((n, r.id, risk::Risk { state, ..record }));
        }
        self.check_ids("risks", &records).await?;
        self.finish()?;
        self.write::<StoredRisk, _>(records, async |tx, id, risk, at| {
            stored_risks::insert(tx, id, &risk, at).await
        })
        .await
    }

    async fn training_records(&mut self, rows: Vec<Row>) -> Result<Vec<String>> {
        let rows = self.parse::<TrainingRecordFields>(rows);
        let users = self
            .resolve(lookup::USERS, rows.iter().map(|r| r.body.user_id.as_str()))
            .await?;
        let today = self.today();
        let mut records = Vec::new();
        for r in rows {
            let n = r.number;
            let mut fields = match competence::validate(r.body, today) {
                Ok(fields) => fields,
                Err(e) => {
                    self.refused(n, e);
                    continue;
                }
            };
            match self.reference(n, "user_id", &Some(fields.user_id.clone()), &users) {
                Some(id) => fields.user_id = id,
                None => continue,
            }
            records.push((n, r.id, fields));
        }
        self.check_ids("training_records", &records).await?;
        self.finish()?;
        self.write::<StoredTrainingRecord, _>(records, async |tx, id, fields, at| {
            stored_training::insert(tx, id, &fields, at).await
        })
        .await
    }

    /// Creates the records through the one write path, each with its audit row; nothing on
    /// a dry run. The ids in row order.
    async fn write<A, T>(
        &self,
        records: Vec<(usize, Option<String>, T)>,
        insert: impl AsyncFn(&DatabaseTransaction, &str, T, chrono::DateTime<chrono::Utc>) -> Result<()>,
    ) -> Result<Vec<String>>
    where
        A: crate::persistence::Aggregate,
    {
        if self.dry_run {
            return Ok(records
                .into_iter()
                .map(|(_, id, _)| id.unwrap_or_default())
                .collect());
        }
        let mut ids = Vec::with_capacity(records.len());
        for (_, id, record) in records {
            let id = id.unwrap_or_else(new_id);
            let now = self.caller.now;
            write::create_as_in::<A>(self.tx, self.caller, &id, async |tx, id| {
                insert(tx, id, record, now).await
            })
            .await?;
            ids.push(id);
        }
        Ok(ids)
    }
}

/// The import's own columns beside the create body: what a state carries.
fn extra_names(columns: &Columns) -> Vec<String> {
    ["raci", "acceptance_rationale"]
        .into_iter()
        .filter(|name| columns.kind(name).is_some())
        .map(str::to_string)
        .collect()
}

/// A create body from a row's values: a problem names the field.
fn from_map<T: DeserializeOwned>(values: Map<String, Value>) -> std::result::Result<T, FieldError> {
    from_value(Value::Object(values))
}

fn from_value<T: DeserializeOwned>(value: Value) -> std::result::Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let named =
            quoted(&message, "missing field ").or_else(|| quoted(&message, "duplicate field "));
        let field = match (path.as_str(), named) {
            (".", Some(name)) => name,
            (".", None) => String::new(),
            (p, Some(name)) => format!("{p}.{name}"),
            (p, None) => p.to_string(),
        };
        FieldError::new(field, message)
    })
}

fn quoted(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split('`').next().map(str::to_string)
}

/// The first field holding text with a NUL character (which PostgreSQL cannot store).
fn nul_field(values: &Map<String, Value>) -> Option<String> {
    fn find(value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(s) if s.contains('\0') => Some(path.to_string()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| find(v, &format!("{path}[{i}]"))),
            Value::Object(fields) => fields.iter().find_map(|(k, v)| {
                if k.contains('\0') {
                    return Some(path.to_string());
                }
                find(v, &format!("{path}.{k}"))
            }),
            _ => None,
        }
    }
    values.iter().find_map(|(k, v)| {
        if k.contains('\0') {
            return Some(String::new());
        }
        find(v, k)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_the_create_body_and_the_export() {
        let c = columns(ImportResource::Processes);
        assert_eq!(c.kind("code"), Some(CellKind::Text));
        assert_eq!(c.kind("review_due"), Some(CellKind::Text));
        assert_eq!(c.kind("clauses"), Some(CellKind::Json));
        assert_eq!(c.kind("raci"), Some(CellKind::Json));
        assert_eq!(c.kind("state"), Some(CellKind::Text));
        for ignored in [
            "kpis",
            "allowed_actions",
            "version",
            "created_at",
            "updated_at",
        ] {
            assert_eq!(c.kind(ignored), Some(CellKind::Ignored), "{ignored}");
        }
        assert_eq!(c.required, ["code", "name"]);
        let r = columns(ImportResource::Risks);
        assert_eq!(r.kind("likelihood"), Some(CellKind::Json));
        assert_eq!(r.kind("kind"), Some(CellKind::Text));
        assert_eq!(r.kind("score"), Some(CellKind::Ignored));
        assert_eq!(r.kind("acceptance_rationale"), Some(CellKind::Text));
        let d = columns(ImportResource::Documents);
        assert_eq!(d.kind("approved_by"), Some(CellKind::Ignored));
        assert_eq!(d.kind("kind"), Some(CellKind::Text));
        let t = columns(ImportResource::TrainingRecords);
        assert_eq!(t.kind("current"), Some(CellKind::Ignored));
        assert_eq!(t.kind("state"), None);
        let s = columns(ImportResource::Roles);
        assert_eq!(s.kind("member_ids"), Some(CellKind::Json));
    }

    #[test]
    fn field_names_of_body_problems() {
        let mut values = Map::new();
        values.insert("name".into(), Value::from("x"));
        let e = from_map::<ProcessFields>(values.clone()).unwrap_err();
        assert_eq!(e.field, "code");
        values.insert("code".into(), Value::from("X"));
        values.insert("nope".into(), Value::from(1));
        assert_eq!(from_map::<ProcessFields>(values).unwrap_err().field, "nope");
        let mut values = Map::new();
        values.insert("a".into(), serde_json::json!(["ok", {"b": "x\u{0}"}]));
        assert_eq!(nul_field(&values).as_deref(), Some("a[1].b"));
    }
}
