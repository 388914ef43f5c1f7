//! What one business unit of the demo SMS holds: its people, SMS roles, processes,
//! objectives, audits, corrective actions, documents, improvements, management reviews,
//! risks, training records and gap assessments. Records refer to each other by the keys
//! given here; days are counted from the day the demo is seeded (negative: in the past).

use crate::domain::access::AccessRole;
use crate::domain::assessment::ResultStatus;
use crate::domain::audit::AuditKind;
use crate::domain::corrective_action::{CorrectiveActionAction, CorrectiveActionSource};
use crate::domain::document::DocumentKind;
use crate::domain::finding::FindingType;
use crate::domain::improvement::{ImprovementAction, ImprovementSource};
use crate::domain::objective::{Comparator, ObjectiveState};
use crate::domain::process::ProcessState;
use crate::domain::risk::{RiskAction, RiskKind};

pub const EMAIL_DOMAIN: &str = "demo.example";

#[rustfmt::skip]
pub const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Amelia", "Noah", "Sofia", "Mateo", "Priya", "Arjun", "Hannah", "Lukas",
    "Chloe", "Kenji", "Fatima", "Omar", "Isabella", "Daniel", "Grace", "Samuel", "Mei", "Tomas",
    "Aisha", "Jonas", "Elena", "Marcus", "Zara", "Felix", "Nadia", "Oliver", "Ingrid", "Rafael",
    "Leila", "Henrik", "Chiara", "Kwame", "Yuki", "Ethan", "Amara", "Sebastian", "Lucia", "David",
];

#[rustfmt::skip]
pub const LAST_NAMES: &[&str] = &[
    "Bennett", "Okafor", "Schmidt", "Nakamura", "Garcia", "Patel", "Clarke", "Johansson",
    "Rossi", "Dubois", "Kowalski", "Haddad", "Murphy", "Silva", "Fischer", "Tanaka", "Andersen",
    "Moreau", "Novak", "Mensah", "Larsen", "Costa", "Weber", "Ibrahim", "Hughes", "Romero",
    "Lindqvist", "Chen", "Walsh", "Fernandes", "Becker", "Osei", "Kaur", "Jensen", "Brennan",
    "Hoffmann", "Santos", "Yilmaz", "Sullivan", "Varga",
];

/// A person of a business unit: what they do and the access roles they sign in with.
pub struct Persona {
    pub key: &'static str,
    pub job: &'static str,
    pub roles: &'static [AccessRole],
}

use AccessRole::{Admin, Auditor, Contributor, Manager, Viewer};

#[rustfmt::skip]
pub const PEOPLE: &[Persona] = &[
    Persona { key: "sms_owner", job: "Head of service management", roles: &[Manager] },
    Persona { key: "sms_manager", job: "SMS manager", roles: &[Manager] },
    Persona { key: "administrator", job: "SMS tool administrator", roles: &[Admin] },
    Persona { key: "service_owner", job: "Service owner", roles: &[Manager] },
    Persona { key: "change_manager", job: "Change and release manager", roles: &[Contributor] },
    Persona { key: "incident_manager", job: "Incident manager", roles: &[Contributor] },
    Persona { key: "problem_manager", job: "Problem manager", roles: &[Contributor] },
    Persona { key: "service_level_manager", job: "Service level manager", roles: &[Contributor] },
    Persona { key: "configuration_manager", job: "Configuration and asset manager", roles: &[Contributor] },
    Persona { key: "security_manager", job: "Information security manager", roles: &[Contributor] },
    Persona { key: "supplier_manager", job: "Supplier manager", roles: &[Contributor] },
    Persona { key: "relationship_manager", job: "Business relationship manager", roles: &[Contributor] },
    Persona { key: "capacity_manager", job: "Capacity and availability manager", roles: &[Contributor] },
    Persona { key: "continuity_manager", job: "Service continuity manager", roles: &[Contributor] },
    Persona { key: "finance_manager", job: "IT finance manager", roles: &[Contributor] },
    Persona { key: "service_desk_lead", job: "Service desk lead", roles: &[Contributor] },
    Persona { key: "lead_auditor", job: "Lead internal auditor", roles: &[Auditor] },
    Persona { key: "auditor", job: "Internal auditor", roles: &[Auditor] },
    Persona { key: "cio", job: "Chief information officer", roles: &[Viewer] },
];

/// The service account of a business unit (automation that reads the SMS and reports
/// measurements).
pub const SERVICE_ACCOUNT: (&str, &str) = ("monitoring", "Monitoring integration");

pub struct RoleSpec {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub responsibilities: &'static [&'static str],
    pub authorities: &'static [&'static str],
    pub required_competences: &'static [&'static str],
    /// Persona keys.
    pub members: &'static [&'static str],
}

pub const ROLES: &[RoleSpec] = &[
    RoleSpec {
        key: "sms_owner",
        name: "SMS owner",
        description: "Top management's representative, accountable for the SMS as a whole (clause 5.1).",
        responsibilities: &[
            "Approve the service management policy and objectives",
            "Chair management reviews",
            "Provide resources for the SMS",
        ],
        authorities: &["Approve the SMS scope and policy", "Accept residual risks"],
        required_competences: &[
            "ISO/IEC 20000-1 foundation",
            "Leadership of service organizations",
        ],
        members: &["sms_owner"],
    },
    RoleSpec {
        key: "sms_manager",
        name: "SMS manager",
        description: "Runs the SMS day to day: plans, documented information, audits follow-up and corrective actions.",
        responsibilities: &[
            "Maintain the SMS plan and documented information",
            "Coordinate corrective actions",
            "Report SMS performance to top management",
        ],
        authorities: &[
            "Assign corrective actions",
            "Call process owners to account for their KPIs",
        ],
        required_competences: &[
            "ISO/IEC 20000-1 practitioner",
            "Internal audit follow-up",
            "Project management",
        ],
        members: &["sms_manager"],
    },
    RoleSpec {
        key: "service_owner",
        name: "Service owner",
        description: "Accountable for the services in the catalogue from design to retirement.",
        responsibilities: &[
            "Own the service portfolio",
            "Plan new and changed services",
            "Review service performance with customers",
        ],
        authorities: &[
            "Approve new or changed services",
            "Prioritise service improvements",
        ],
        required_competences: &[
            "Service portfolio management",
            "Customer relationship management",
        ],
        members: &["service_owner"],
    },
    RoleSpec {
        key: "change_manager",
        name: "Change manager",
        description: "Owns change management and chairs the change advisory board.",
        responsibilities: &[
            "Assess and authorise changes",
            "Chair the change advisory board",
            "Review failed and emergency changes",
        ],
        authorities: &[
            "Approve or reject normal changes",
            "Authorise emergency changes",
        ],
        required_competences: &["Change management", "Risk assessment"],
        members: &["change_manager"],
    },
    RoleSpec {
        key: "release_manager",
        name: "Release manager",
        description: "Plans releases and their deployment into the live environment.",
        responsibilities: &[
            "Plan and schedule releases",
            "Verify deployments",
            "Keep the release calendar",
        ],
        authorities: &["Stop a deployment that fails its acceptance criteria"],
        required_competences: &["Release and deployment management", "Deployment automation"],
        members: &["change_manager"],
    },
    RoleSpec {
        key: "incident_manager",
        name: "Incident manager",
        description: "Owns incident and service request management and leads major incidents.",
        responsibilities: &[
            "Restore services within the agreed targets",
            "Lead major incident handling",
            "Report incident trends",
        ],
        authorities: &[
            "Declare a major incident",
            "Call in second-line and supplier support",
        ],
        required_competences: &["Incident management", "Major incident handling"],
        members: &["incident_manager", "service_desk_lead"],
    },
    RoleSpec {
        key: "service_desk_lead",
        name: "Service desk lead",
        description: "Leads the service desk, the single point of contact for users.",
        responsibilities: &[
            "Staff the service desk",
            "Log, classify and fulfil requests",
            "Keep users informed",
        ],
        authorities: &["Escalate incidents to second line"],
        required_competences: &["Service desk operations", "Customer communication"],
        members: &["service_desk_lead"],
    },
    RoleSpec {
        key: "problem_manager",
        name: "Problem manager",
        description: "Finds and removes the root causes of incidents.",
        responsibilities: &[
            "Investigate root causes",
            "Maintain known errors and workarounds",
            "Raise changes to remove causes",
        ],
        authorities: &["Request changes to remove root causes"],
        required_competences: &["Problem management", "Root cause analysis"],
        members: &["problem_manager"],
    },
    RoleSpec {
        key: "service_level_manager",
        name: "Service level manager",
        description: "Agrees service levels with customers and reports on them.",
        responsibilities: &[
            "Negotiate service level agreements",
            "Publish service reports",
            "Review breaches with customers",
        ],
        authorities: &["Agree service level targets within the service catalogue"],
        required_competences: &["Service level management", "Service reporting"],
        members: &["service_level_manager"],
    },
    RoleSpec {
        key: "configuration_manager",
        name: "Configuration manager",
        description: "Keeps the configuration management database and the asset register accurate.",
        responsibilities: &[
            "Control configuration items",
            "Audit the CMDB against the live estate",
            "Manage assets through their life",
        ],
        authorities: &["Refuse changes that would leave configuration records wrong"],
        required_competences: &["Configuration management", "IT asset management"],
        members: &["configuration_manager"],
    },
    RoleSpec {
        key: "security_manager",
        name: "Information security manager",
        description: "Owns information security management for the services.",
        responsibilities: &[
            "Maintain the information security policy",
            "Assess information security risks",
            "Handle information security incidents",
        ],
        authorities: &["Suspend access that puts information at risk"],
        required_competences: &[
            "Information security management (ISO/IEC 27001)",
            "Risk assessment",
        ],
        members: &["security_manager"],
    },
    RoleSpec {
        key: "supplier_manager",
        name: "Supplier manager",
        description: "Manages external suppliers and internal suppliers acting as suppliers.",
        responsibilities: &[
            "Keep supplier contracts aligned with service levels",
            "Review supplier performance",
            "Control parties in the service lifecycle",
        ],
        authorities: &["Negotiate supplier contracts within budget"],
        required_competences: &["Supplier management", "Contract management"],
        members: &["supplier_manager"],
    },
    RoleSpec {
        key: "relationship_manager",
        name: "Business relationship manager",
        description: "The customers' advocate in the service organization.",
        responsibilities: &[
            "Understand customers' business needs",
            "Measure customer satisfaction",
            "Handle service complaints",
        ],
        authorities: &["Escalate unresolved complaints to the SMS owner"],
        required_competences: &[
            "Business relationship management",
            "Customer satisfaction measurement",
        ],
        members: &["relationship_manager"],
    },
    RoleSpec {
        key: "capacity_manager",
        name: "Capacity and availability manager",
        description: "Plans capacity and availability so that services meet demand and targets.",
        responsibilities: &[
            "Plan capacity against demand",
            "Monitor availability against targets",
            "Assess the risk of unplanned outages",
        ],
        authorities: &["Request capacity changes"],
        required_competences: &["Capacity planning", "Availability management"],
        members: &["capacity_manager"],
    },
    RoleSpec {
        key: "continuity_manager",
        name: "Service continuity manager",
        description: "Keeps services able to continue through major disruption.",
        responsibilities: &[
            "Maintain the service continuity plan",
            "Test continuity arrangements",
            "Review continuity after major incidents",
        ],
        authorities: &["Invoke the service continuity plan"],
        required_competences: &[
            "Business continuity (ISO 22301)",
            "Disaster recovery testing",
        ],
        members: &["continuity_manager"],
    },
    RoleSpec {
        key: "finance_manager",
        name: "Financial manager",
        description: "Budgets and accounts for services, and forecasts demand.",
        responsibilities: &[
            "Budget and account for services",
            "Forecast demand",
            "Report service costs",
        ],
        authorities: &["Approve spending within the service budget"],
        required_competences: &["IT financial management", "Demand forecasting"],
        members: &["finance_manager"],
    },
    RoleSpec {
        key: "internal_auditor",
        name: "Internal auditor",
        description: "Audits the SMS impartially against ISO/IEC 20000-1 and the organization's own requirements (clause 9.2).",
        responsibilities: &[
            "Plan and conduct internal audits",
            "Record findings with evidence",
            "Verify the effectiveness of corrective actions",
        ],
        authorities: &["Access every record in the scope of an audit"],
        required_competences: &["ISO 19011 auditing", "ISO/IEC 20000-1 internal auditor"],
        members: &["lead_auditor", "auditor"],
    },
];

pub struct ProcessSpec {
    pub code: &'static str,
    pub name: &'static str,
    pub clauses: &'static [&'static str],
    pub purpose: &'static str,
    /// RACI for the process as a whole, role keys: accountable (the owner), responsible,
    /// consulted, informed.
    pub raci: [&'static str; 4],
    pub review_in_days: i64,
    pub state: ProcessState,
}

const fn process(
    code: &'static str,
    name: &'static str,
    clauses: &'static [&'static str],
    purpose: &'static str,
    raci: [&'static str; 4],
    review_in_days: i64,
) -> ProcessSpec {
    ProcessSpec {
        code,
        name,
        clauses,
        purpose,
        raci,
        review_in_days,
        state: ProcessState::Active,
    }
}

/// The twenty service management processes of clause 8, then service reporting (being
/// defined) and a retired process that service request management replaced.
#[rustfmt::skip]
pub const PROCESSES: &[ProcessSpec] = &[
    process("SVP", "Service planning", &["8.2.2"], "Determine and document the service requirements for new and changed services and plan them.", ["service_owner", "relationship_manager", "finance_manager", "sms_owner"], 210),
    process("CPL", "Control of parties in the service lifecycle", &["8.2.3"], "Keep the SMS accountable for the processes, services and components that other parties operate.", ["supplier_manager", "sms_manager", "service_owner", "sms_owner"], 180),
    process("SCM", "Service catalogue management", &["8.2.4"], "Keep one accurate catalogue of the services, their dependencies and interfaces.", ["service_level_manager", "service_desk_lead", "relationship_manager", "service_owner"], 150),
    process("AST", "Asset management", &["8.2.5"], "Manage the assets that deliver services so they meet service requirements and obligations.", ["configuration_manager", "service_desk_lead", "finance_manager", "service_owner"], -40),
    process("CFG", "Configuration management", &["8.2.6"], "Keep accurate and current information about the configuration items that make up the services.", ["configuration_manager", "change_manager", "security_manager", "service_owner"], 120),
    process("BRM", "Business relationship management", &["8.3.2"], "Keep a good relationship with customers and understand their needs and satisfaction.", ["relationship_manager", "service_level_manager", "service_owner", "sms_owner"], 240),
    process("SLM", "Service level management", &["8.3.3"], "Agree service levels with customers and monitor, report and review performance against them.", ["service_level_manager", "service_desk_lead", "relationship_manager", "service_owner"], 90),
    process("SUP", "Supplier management", &["8.3.4"], "Make sure suppliers deliver what the services need, under agreed contracts.", ["supplier_manager", "finance_manager", "security_manager", "service_owner"], 200),
    process("BUD", "Budgeting and accounting for services", &["8.4.1"], "Budget and account for the costs of services to support decisions and control spending.", ["finance_manager", "service_owner", "sms_manager", "sms_owner"], -15),
    process("DEM", "Demand management", &["8.4.2"], "Determine and forecast the demand for services and how it is consumed.", ["finance_manager", "capacity_manager", "relationship_manager", "service_owner"], 270),
    process("CAP", "Capacity management", &["8.4.3"], "Provide enough capacity of human, technical, information and financial resources to meet demand.", ["capacity_manager", "configuration_manager", "finance_manager", "service_owner"], 160),
    process("CHG", "Change management", &["8.5.1"], "Assess, approve, schedule and review changes so that they deliver benefits with minimum disruption.", ["change_manager", "release_manager", "security_manager", "service_owner"], 60),
    process("SDT", "Service design and transition", &["8.5.2"], "Design, build and transition new or changed services into the live environment.", ["service_owner", "change_manager", "capacity_manager", "sms_manager"], 300),
    process("RDM", "Release and deployment management", &["8.5.3"], "Plan, build, test and deploy releases into the live environment.", ["release_manager", "configuration_manager", "change_manager", "service_owner"], 130),
    process("INC", "Incident management", &["8.6.1"], "Restore normal service as quickly as possible and minimise the impact of incidents.", ["incident_manager", "service_desk_lead", "problem_manager", "service_owner"], 45),
    process("SRQ", "Service request management", &["8.6.2"], "Fulfil service requests within the agreed targets.", ["service_desk_lead", "incident_manager", "configuration_manager", "service_owner"], 100),
    process("PRB", "Problem management", &["8.6.3"], "Find and remove the root causes of incidents and prevent their recurrence.", ["problem_manager", "incident_manager", "change_manager", "service_owner"], 75),
    process("AVL", "Service availability management", &["8.7.1"], "Meet the agreed availability of services through risk assessment and monitoring.", ["capacity_manager", "configuration_manager", "continuity_manager", "service_owner"], 190),
    process("CON", "Service continuity management", &["8.7.2"], "Keep services running at agreed levels through major disruption.", ["continuity_manager", "capacity_manager", "security_manager", "sms_owner"], 30),
    process("ISM", "Information security management", &["8.7.3"], "Preserve the confidentiality, integrity and availability of information in the services.", ["security_manager", "configuration_manager", "continuity_manager", "sms_owner"], 110),
    ProcessSpec {
        state: ProcessState::Draft,
        ..process("REP", "Service reporting", &["9.4"], "Produce timely, reliable and accurate service reports for decision making.", ["service_level_manager", "service_desk_lead", "relationship_manager", "service_owner"], 330)
    },
    ProcessSpec {
        state: ProcessState::Retired,
        ..process("LRF", "Legacy request fulfilment", &["8.6.2"], "Fulfil standard requests by e-mail; replaced by service request management.", ["service_desk_lead", "incident_manager", "service_level_manager", "service_owner"], 365)
    },
];

/// How the monthly values of an objective run: each is the share of the way from the
/// baseline to the target.
pub struct ObjectiveSpec {
    pub key: &'static str,
    pub title: &'static str,
    pub process: &'static str,
    pub clauses: &'static [&'static str],
    /// The role key that owns it; its first member records the measurements.
    pub owner_role: &'static str,
    pub metric: &'static str,
    pub unit: &'static str,
    pub baseline: f64,
    pub target: f64,
    pub comparator: Comparator,
    pub decimals: i32,
    /// Day it was set and day it is due, from the day of seeding.
    pub created: i64,
    pub due: i64,
    /// Where it ends up.
    pub state: ObjectiveState,
    /// Days of the measurements and the share of the way each shows.
    pub first_measurement: i64,
    pub shares: &'static [f64],
    /// The day it was closed or cancelled, if it was.
    pub ended: Option<i64>,
}

/// On or ahead of the expected line (which is at 0.80 of the way on the day of seeding).
const ON_TRACK: &[f64] = &[
    0.08, 0.15, 0.22, 0.30, 0.37, 0.45, 0.52, 0.60, 0.67, 0.75, 0.82, 0.90,
];
/// A little behind the line.
const AT_RISK: &[f64] = &[
    0.05, 0.10, 0.16, 0.22, 0.30, 0.35, 0.42, 0.50, 0.57, 0.63, 0.70, 0.75,
];
/// Stuck far behind it.
const OFF_TRACK: &[f64] = &[
    0.10, 0.18, 0.22, 0.25, 0.24, 0.28, 0.30, 0.27, 0.31, 0.29, 0.30, 0.28,
];
/// At the target already.
const MET: &[f64] = &[
    0.20, 0.35, 0.50, 0.60, 0.70, 0.78, 0.85, 0.90, 0.95, 1.00, 1.02, 1.05,
];
const ACHIEVED: &[f64] = &[
    0.10, 0.20, 0.28, 0.40, 0.48, 0.57, 0.66, 0.74, 0.83, 0.92, 1.00, 1.04,
];
const MISSED: &[f64] = &[
    0.05, 0.12, 0.18, 0.25, 0.30, 0.37, 0.42, 0.48, 0.55, 0.60, 0.66, 0.70,
];
const CANCELLED: &[f64] = &[0.05, 0.08, 0.12];

pub const OBJECTIVES: &[ObjectiveSpec] = &[
    ObjectiveSpec {
        key: "p1_restore",
        title: "Restore priority 1 incidents within 4 hours",
        process: "INC",
        clauses: &["6.2", "8.6.1"],
        owner_role: "incident_manager",
        metric: "Priority 1 incidents restored within 4 hours",
        unit: "%",
        baseline: 78.0,
        target: 95.0,
        comparator: Comparator::Gte,
        decimals: 1,
        created: -370,
        due: 90,
        state: ObjectiveState::Active,
        first_measurement: -335,
        shares: ON_TRACK,
        ended: None,
    },
    ObjectiveSpec {
        key: "change_success",
        title: "Raise the change success rate to 97 %",
        process: "CHG",
        clauses: &["6.2", "8.5.1"],
        owner_role: "change_manager",
        metric: "Changes implemented without incident or rollback",
        unit: "%",
        baseline: 88.0,
        target: 97.0,
        comparator: Comparator::Gte,
        decimals: 1,
        created: -370,
        due: 90,
        state: ObjectiveState::Active,
        first_measurement: -335,
        shares: AT_RISK,
        ended: None,
    },
    ObjectiveSpec {
        key: "availability",
        title: "Keep critical services available 99.9 % of the time",
        process: "AVL",
        clauses: &["6.2", "8.7.1"],
        owner_role: "capacity_manager",
        metric: "Monthly availability of critical services",
        unit: "%",
        baseline: 99.5,
        target: 99.9,
        comparator: Comparator::Gte,
        decimals: 2,
        created: -370,
        due: 90,
        state: ObjectiveState::Active,
        first_measurement: -335,
        shares: MET,
        ended: None,
    },
    ObjectiveSpec {
        key: "problem_backlog",
        title: "Cut the backlog of old problems",
        process: "PRB",
        clauses: &["6.2", "8.6.3"],
        owner_role: "problem_manager",
        metric: "Open problems older than 90 days",
        unit: "problems",
        baseline: 40.0,
        target: 10.0,
        comparator: Comparator::Lte,
        decimals: 0,
        created: -370,
        due: 90,
        state: ObjectiveState::Active,
        first_measurement: -335,
        shares: OFF_TRACK,
        ended: None,
    },
    ObjectiveSpec {
        key: "sla_reports",
        title: "Deliver every service level report on time",
        process: "SLM",
        clauses: &["6.2", "8.3.3", "9.4"],
        owner_role: "service_level_manager",
        metric: "Service level reports delivered by the 5th working day",
        unit: "%",
        baseline: 70.0,
        target: 100.0,
        comparator: Comparator::Gte,
        decimals: 0,
        created: -370,
        due: 90,
        state: ObjectiveState::Active,
        first_measurement: -335,
        shares: ON_TRACK,
        ended: None,
    },
    ObjectiveSpec {
        key: "satisfaction",
        title: "Customer satisfaction of 4.3 or better",
        process: "BRM",
        clauses: &["6.2", "8.3.2"],
        owner_role: "relationship_manager",
        metric: "Average score of the customer satisfaction survey (1 to 5)",
        unit: "points",
        baseline: 3.9,
        target: 4.3,
        comparator: Comparator::Gte,
        decimals: 2,
        created: -400,
        due: -40,
        state: ObjectiveState::Achieved,
        first_measurement: -370,
        shares: ACHIEVED,
        ended: Some(-35),
    },
    ObjectiveSpec {
        key: "supplier_reviews",
        title: "Review every key supplier each quarter",
        process: "SUP",
        clauses: &["6.2", "8.3.4"],
        owner_role: "supplier_manager",
        metric: "Key suppliers reviewed in the quarter",
        unit: "%",
        baseline: 50.0,
        target: 100.0,
        comparator: Comparator::Gte,
        decimals: 0,
        created: -400,
        due: -40,
        state: ObjectiveState::Missed,
        first_measurement: -370,
        shares: MISSED,
        ended: Some(-35),
    },
    ObjectiveSpec {
        key: "patching",
        title: "Patch critical vulnerabilities within 14 days",
        process: "ISM",
        clauses: &["6.2", "8.7.3"],
        owner_role: "security_manager",
        metric: "Critical vulnerabilities patched within 14 days",
        unit: "%",
        baseline: 60.0,
        target: 95.0,
        comparator: Comparator::Gte,
        decimals: 0,
        created: -10,
        due: 200,
        state: ObjectiveState::Draft,
        first_measurement: 0,
        shares: &[],
        ended: None,
    },
    ObjectiveSpec {
        key: "capacity_incidents",
        title: "Halve incidents caused by capacity shortfalls",
        process: "CAP",
        clauses: &["6.2", "8.4.3"],
        owner_role: "capacity_manager",
        metric: "Incidents caused by capacity shortfalls per quarter",
        unit: "incidents",
        baseline: 12.0,
        target: 6.0,
        comparator: Comparator::Lte,
        decimals: 0,
        created: -300,
        due: 60,
        state: ObjectiveState::Cancelled,
        first_measurement: -270,
        shares: CANCELLED,
        ended: Some(-200),
    },
];

/// Days between two measurements of an objective.
pub const MEASUREMENT_INTERVAL: i64 = 30;

pub struct FindingSpec {
    pub key: &'static str,
    pub finding_type: FindingType,
    pub clause: Option<&'static str>,
    pub process: &'static str,
    pub statement: &'static str,
    pub evidence: &'static str,
    /// Observations and opportunities closed by the audit team.
    pub closed: bool,
}

pub struct AuditSpec {
    /// `{year}` is replaced by the year of the planned start.
    pub title: &'static str,
    pub scope_processes: &'static [&'static str],
    pub scope_clauses: &'static [&'static str],
    pub planned_start: i64,
    pub days: i64,
    /// Created (planned) on this day; started on the planned start when `started`.
    pub created: i64,
    pub started: bool,
    pub reported: Option<i64>,
    pub summary: Option<&'static str>,
    /// Closed on this day, once its nonconformities have corrective actions.
    pub closed: Option<i64>,
    pub findings: &'static [FindingSpec],
}

pub const AUDIT_KIND: AuditKind = AuditKind::Internal;

pub const AUDIT_CRITERIA: &str = "ISO/IEC 20000-1:2018 clauses in scope, the service management policy and plan, and the documented procedures of the processes in scope.";

pub const AUDITS: &[AuditSpec] = &[
    AuditSpec {
        title: "Internal audit {year}: resolution and change",
        scope_processes: &["CHG", "INC", "PRB", "SLM"],
        scope_clauses: &["8.5.1", "8.6", "8.3.3"],
        planned_start: -340,
        days: 3,
        created: -380,
        started: true,
        reported: Some(-335),
        summary: Some(
            "The processes in scope are established and largely effective. Change approval and incident prioritisation need corrective action; service level reviews slipped for two customers.",
        ),
        closed: Some(-300),
        findings: &[
            FindingSpec {
                key: "a1_change_approval",
                finding_type: FindingType::MajorNonconformity,
                clause: Some("8.5.1"),
                process: "CHG",
                statement: "Changes to production were deployed without the approval the change management policy requires.",
                evidence: "4 of 25 sampled normal changes (CHG-1042, CHG-1077, CHG-1103, CHG-1120) have no recorded approval of the change advisory board.",
                closed: false,
            },
            FindingSpec {
                key: "a1_incident_priority",
                finding_type: FindingType::MinorNonconformity,
                clause: Some("8.6.1"),
                process: "INC",
                statement: "Incident priorities were not reassessed when the impact of the incident changed.",
                evidence: "In 3 of 30 sampled incidents the impact grew to several customers while the priority stayed at P3.",
                closed: false,
            },
            FindingSpec {
                key: "a1_sla_review",
                finding_type: FindingType::MinorNonconformity,
                clause: Some("8.3.3"),
                process: "SLM",
                statement: "Service levels of two customers were not reviewed at the planned intervals.",
                evidence: "The quarterly reviews with two customers in Q2 and Q3 have no minutes or report.",
                closed: false,
            },
            FindingSpec {
                key: "a1_known_errors",
                finding_type: FindingType::Observation,
                clause: Some("8.6.3"),
                process: "PRB",
                statement: "A third of the known error records have no workaround recorded.",
                evidence: "14 of 42 known error records in the service management tool have an empty workaround field.",
                closed: true,
            },
            FindingSpec {
                key: "a1_dashboard",
                finding_type: FindingType::OpportunityForImprovement,
                clause: None,
                process: "INC",
                statement: "Generating the incident KPIs from the tool would save the two days spent on manual reporting each month.",
                evidence: "Interview with the incident manager; the monthly KPI workbook.",
                closed: true,
            },
        ],
    },
    AuditSpec {
        title: "Internal audit {year}: configuration, availability and continuity",
        scope_processes: &["CFG", "AVL", "CON", "SUP"],
        scope_clauses: &["8.2.6", "8.7.1", "8.7.2", "8.3.4"],
        planned_start: -25,
        days: 3,
        created: -60,
        started: true,
        reported: Some(-19),
        summary: Some(
            "Draft: the continuity plan was not tested this year; configuration records drift from the live estate. Report to be agreed with the SMS manager.",
        ),
        closed: None,
        findings: &[
            FindingSpec {
                key: "a2_continuity_test",
                finding_type: FindingType::MajorNonconformity,
                clause: Some("8.7.2"),
                process: "CON",
                statement: "The service continuity plan was not tested in the last 12 months.",
                evidence: "The last recorded test report is 16 months old; the test planned for March was cancelled without a new date.",
                closed: false,
            },
            FindingSpec {
                key: "a2_cmdb_accuracy",
                finding_type: FindingType::MinorNonconformity,
                clause: Some("8.2.6"),
                process: "CFG",
                statement: "Configuration records do not match the installed software of the servers they describe.",
                evidence: "Records of 6 of 50 sampled servers (12 %) list software versions that are no longer installed.",
                closed: false,
            },
            FindingSpec {
                key: "a2_supplier_spreadsheet",
                finding_type: FindingType::Observation,
                clause: Some("8.3.4"),
                process: "SUP",
                statement: "Supplier contract reviews depend on one person's spreadsheet.",
                evidence: "Interview with the supplier manager; no copy of the review tracker is kept in the document store.",
                closed: false,
            },
            FindingSpec {
                key: "a2_availability_report",
                finding_type: FindingType::OpportunityForImprovement,
                clause: Some("8.7.1"),
                process: "AVL",
                statement: "Availability reports could show planned maintenance apart from unplanned outages.",
                evidence: "Monthly availability reports of the last two quarters.",
                closed: false,
            },
        ],
    },
    AuditSpec {
        title: "Internal audit {year}: information security, capacity and finance",
        scope_processes: &["ISM", "CAP", "BUD", "DEM"],
        scope_clauses: &["8.7.3", "8.4"],
        planned_start: 45,
        days: 3,
        created: -20,
        started: false,
        reported: None,
        summary: None,
        closed: None,
        findings: &[],
    },
];

/// One workflow step of a corrective action: the day, the action, who takes it, and the
/// texts it carries (see `CorrectiveActionAction::carries`: investigate → correction;
/// plan → root cause, action plan, similar nonconformities; implement → implementation;
/// verify → effectiveness review; cancel → reason).
pub struct CaStep {
    pub day: i64,
    pub action: CorrectiveActionAction,
    pub by: &'static str,
    pub texts: &'static [&'static str],
    pub effective: Option<bool>,
}

const fn step(
    day: i64,
    action: CorrectiveActionAction,
    by: &'static str,
    texts: &'static [&'static str],
) -> CaStep {
    CaStep {
        day,
        action,
        by,
        texts,
        effective: None,
    }
}

const fn verify(
    day: i64,
    by: &'static str,
    review: &'static [&'static str],
    effective: bool,
) -> CaStep {
    CaStep {
        day,
        action: CorrectiveActionAction::Verify,
        by,
        texts: review,
        effective: Some(effective),
    }
}

pub struct CaSpec {
    pub title: &'static str,
    pub nonconformity: &'static str,
    pub source: CorrectiveActionSource,
    /// The finding key (for `audit_finding`), or the process code and clause.
    pub finding: Option<&'static str>,
    pub process: Option<&'static str>,
    pub clause: Option<&'static str>,
    pub owner: &'static str,
    pub created: i64,
    pub due: i64,
    pub steps: &'static [CaStep],
}

use CorrectiveActionAction::{Cancel, Close, Implement, Investigate, Plan};
use CorrectiveActionSource::{
    AuditFinding, Complaint, Incident, ManagementReview, Monitoring, Other,
};

/// Who creates the corrective actions.
pub const CA_CREATOR: &str = "sms_manager";

pub const CORRECTIVE_ACTIONS: &[CaSpec] = &[
    CaSpec {
        title: "Changes deployed without approval",
        nonconformity: "Four normal changes reached production without the approval of the change advisory board.",
        source: AuditFinding,
        finding: Some("a1_change_approval"),
        process: None,
        clause: None,
        owner: "change_manager",
        created: -334,
        due: -240,
        steps: &[
            step(
                -330,
                Investigate,
                "change_manager",
                &[
                    "The four changes were reviewed retrospectively by the CAB; none caused an incident.",
                ],
            ),
            step(
                -320,
                Plan,
                "change_manager",
                &[
                    "The deployment pipeline does not check for an approved change record.",
                    "Add an approval gate to the deployment pipeline and brief all release engineers.",
                    "Standard changes were checked too: no gaps found.",
                ],
            ),
            step(
                -290,
                Implement,
                "change_manager",
                &["Approval gate added to the pipeline; 18 release engineers briefed."],
            ),
            verify(
                -280,
                "lead_auditor",
                &[
                    "Two changes bypassed the gate through the manual deployment path; not effective yet.",
                ],
                false,
            ),
            step(
                -250,
                Implement,
                "change_manager",
                &["Manual deployment path closed; the gate now covers every route to production."],
            ),
            verify(
                -200,
                "auditor",
                &["Sample of 40 changes since the fix: all approved before deployment. Effective."],
                true,
            ),
            step(-190, Close, "sms_manager", &[]),
        ],
    },
    CaSpec {
        title: "Incident priorities not reassessed",
        nonconformity: "Incident priorities stayed unchanged while the impact grew.",
        source: AuditFinding,
        finding: Some("a1_incident_priority"),
        process: None,
        clause: None,
        owner: "incident_manager",
        created: -334,
        due: -270,
        steps: &[
            step(
                -332,
                Investigate,
                "incident_manager",
                &["The three incidents were re-prioritised and reviewed with the customers."],
            ),
            step(
                -325,
                Plan,
                "incident_manager",
                &[
                    "The tool did not prompt for a priority review when more customers were linked.",
                    "Add a mandatory priority review when the impact changes; update the procedure.",
                ],
            ),
            step(
                -300,
                Implement,
                "incident_manager",
                &["Priority review prompt live; incident procedure v3.2 published."],
            ),
            verify(
                -280,
                "auditor",
                &["20 sampled incidents with changed impact were all reassessed. Effective."],
                true,
            ),
            step(-275, Close, "sms_manager", &[]),
        ],
    },
    CaSpec {
        title: "Service level reviews missed",
        nonconformity: "Two customers' service levels were not reviewed at the planned intervals.",
        source: AuditFinding,
        finding: Some("a1_sla_review"),
        process: None,
        clause: None,
        owner: "service_level_manager",
        created: -333,
        due: -240,
        steps: &[
            step(
                -330,
                Investigate,
                "service_level_manager",
                &["Reviews with both customers held within the month."],
            ),
            step(
                -318,
                Plan,
                "service_level_manager",
                &[
                    "Reviews were tracked in a personal calendar and lost during a handover.",
                    "Schedule every review in the SMS calendar with a deputy.",
                ],
            ),
            step(
                -260,
                Implement,
                "service_level_manager",
                &["All reviews scheduled with named deputies for the next 12 months."],
            ),
            verify(
                -230,
                "auditor",
                &["All reviews of the last two quarters held and minuted. Effective."],
                true,
            ),
        ],
    },
    CaSpec {
        title: "Continuity plan not tested",
        nonconformity: "The service continuity plan went untested for more than 12 months.",
        source: AuditFinding,
        finding: Some("a2_continuity_test"),
        process: None,
        clause: None,
        owner: "continuity_manager",
        created: -17,
        due: 40,
        steps: &[step(
            -12,
            Investigate,
            "continuity_manager",
            &["A tabletop test of the plan is booked for next month."],
        )],
    },
    CaSpec {
        title: "Configuration records drift from the live estate",
        nonconformity: "Configuration records list software no longer installed on the servers.",
        source: AuditFinding,
        finding: Some("a2_cmdb_accuracy"),
        process: None,
        clause: None,
        owner: "configuration_manager",
        created: -16,
        due: 45,
        steps: &[],
    },
    CaSpec {
        title: "Major incident not escalated to the duty manager",
        nonconformity: "A priority 1 incident ran for three hours before the duty manager was told.",
        source: Incident,
        finding: None,
        process: Some("INC"),
        clause: Some("8.6.1"),
        owner: "incident_manager",
        created: -95,
        due: -20,
        steps: &[
            step(
                -90,
                Investigate,
                "incident_manager",
                &["Duty manager informed; the incident review held with the service desk."],
            ),
            step(
                -80,
                Plan,
                "incident_manager",
                &[
                    "The escalation rota in the tool was out of date after the team change.",
                    "Make the rota part of the monthly service desk checklist and alert on unassigned P1s after 15 minutes.",
                ],
            ),
        ],
    },
    CaSpec {
        title: "Service level report sent with wrong figures",
        nonconformity: "A customer received a monthly service level report with another customer's availability figures.",
        source: Complaint,
        finding: None,
        process: Some("SLM"),
        clause: Some("8.3.3"),
        owner: "service_level_manager",
        created: -70,
        due: -5,
        steps: &[
            step(
                -66,
                Investigate,
                "service_level_manager",
                &["Corrected report sent with an apology; the other customer was informed."],
            ),
            step(
                -60,
                Plan,
                "service_level_manager",
                &[
                    "Reports are assembled by copying last month's workbook.",
                    "Generate reports from the reporting tool with a per-customer filter and a second check.",
                ],
            ),
            step(
                -30,
                Implement,
                "service_level_manager",
                &["Report generation moved to the reporting tool; four-eyes check added."],
            ),
        ],
    },
    CaSpec {
        title: "Backup verification failed without an alert",
        nonconformity: "Nightly backup verification failed for six days without anyone being alerted.",
        source: Monitoring,
        finding: None,
        process: Some("CON"),
        clause: Some("8.7.2"),
        owner: "continuity_manager",
        created: -40,
        due: -10,
        steps: &[],
    },
    CaSpec {
        title: "Supplier performance reviews not held",
        nonconformity: "The management review found that no supplier performance review was held in two quarters.",
        source: ManagementReview,
        finding: None,
        process: Some("SUP"),
        clause: Some("8.3.4"),
        owner: "supplier_manager",
        created: -200,
        due: -100,
        steps: &[
            step(
                -195,
                Investigate,
                "supplier_manager",
                &["Reviews with the three key suppliers scheduled."],
            ),
            step(
                -150,
                Cancel,
                "sms_manager",
                &[
                    "Merged into the supplier management improvement programme agreed at the management review.",
                ],
            ),
        ],
    },
    CaSpec {
        title: "Leavers' access not removed within 24 hours",
        nonconformity: "Access of two leavers stayed active for more than a week.",
        source: Other,
        finding: None,
        process: Some("ISM"),
        clause: Some("8.7.3"),
        owner: "security_manager",
        created: -30,
        due: 14,
        steps: &[step(
            -25,
            Investigate,
            "security_manager",
            &["Both accounts disabled; their access logs show no use after leaving."],
        )],
    },
    CaSpec {
        title: "Capacity alerts ignored on the storage cluster",
        nonconformity: "Storage capacity warnings were acknowledged without action until the cluster filled up.",
        source: Monitoring,
        finding: None,
        process: Some("CAP"),
        clause: Some("8.4.3"),
        owner: "capacity_manager",
        created: -180,
        due: -120,
        steps: &[
            step(
                -178,
                Investigate,
                "capacity_manager",
                &["Capacity added; the affected services restored."],
            ),
            step(
                -170,
                Plan,
                "capacity_manager",
                &[
                    "Warnings went to a shared mailbox nobody owned.",
                    "Route capacity warnings to the on-call queue with an owner and a response target.",
                ],
            ),
            step(
                -140,
                Implement,
                "capacity_manager",
                &["Warnings routed to the on-call queue; response target of 1 working day set."],
            ),
            verify(
                -125,
                "lead_auditor",
                &["All 9 warnings since the change were handled within the target. Effective."],
                true,
            ),
            step(-120, Close, "sms_manager", &[]),
        ],
    },
    CaSpec {
        title: "Emergency change without a post-implementation review",
        nonconformity: "An emergency change was not reviewed after implementation, as the change policy requires.",
        source: Incident,
        finding: None,
        process: Some("CHG"),
        clause: Some("8.5.1"),
        owner: "change_manager",
        created: -60,
        due: 20,
        steps: &[
            step(
                -58,
                Investigate,
                "change_manager",
                &["The review of the emergency change was held late; no further issues found."],
            ),
            step(
                -50,
                Plan,
                "change_manager",
                &[
                    "Emergency changes had no follow-up task in the tool.",
                    "Create a review task automatically when an emergency change is closed.",
                ],
            ),
            step(
                -10,
                Implement,
                "change_manager",
                &["Review task automation live."],
            ),
        ],
    },
];

/// A workflow step of a risk, an improvement or a document: the day, the action, who takes
/// it, and the text it carries, if the action takes one (see the action's `carries`).
pub struct Move<A> {
    pub day: i64,
    pub action: A,
    pub by: &'static str,
    pub text: Option<&'static str>,
}

const fn mv<A>(day: i64, action: A, by: &'static str, text: Option<&'static str>) -> Move<A> {
    Move {
        day,
        action,
        by,
        text,
    }
}

/// What a document covers: an item of the documented-information reference list, by name
/// (its clause and kind come from the list), or a clause for a document the list does not
/// ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    Item(&'static str),
    Clause(&'static str),
}

/// Where a document stands on the day of seeding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFate {
    /// Approved, its review in date.
    Current,
    /// Approved, its review date this many days past.
    Overdue(i64),
    /// Being written: never approved.
    Draft,
    /// Approved, then withdrawn (`obsolete`) when a new version, approved, replaced it.
    Replaced,
    /// Approved, then withdrawn with nothing in its place.
    Withdrawn,
    /// Never written: the item is left without a document.
    Missing,
}

pub struct DocSpec {
    pub covers: Covers,
    pub title: &'static str,
    /// `Record` for a record item, another kind for a document item.
    pub kind: DocumentKind,
    pub owner_role: &'static str,
    pub fate: DocFate,
}

const fn doc(
    item: &'static str,
    title: &'static str,
    kind: DocumentKind,
    owner_role: &'static str,
    fate: DocFate,
) -> DocSpec {
    DocSpec {
        covers: Covers::Item(item),
        title,
        kind,
        owner_role,
        fate,
    }
}

/// The first document is written this many days ago, the next ones a few days apart.
pub const DOCUMENTS_FROM: i64 = -390;
/// Days between writing a document and its approval.
pub const DOCUMENT_APPROVAL: i64 = 12;
/// When the replaced and the withdrawn documents went out of force.
pub const DOCUMENTS_WITHDRAWN: i64 = -95;
/// Who writes documents and who approves them (both managers).
pub const DOCUMENT_AUTHOR: &str = "sms_manager";
pub const DOCUMENT_APPROVER: &str = "sms_owner";
/// The document store the locations point into.
pub const DOCUMENT_STORE: &str = "https://dms.demo.example/sms";

use DocFate::{Current, Draft, Missing, Overdue, Replaced, Withdrawn};
use DocumentKind::{Agreement, Plan as PlanDoc, Policy, Procedure, Record};

/// One document per item of the documented-information reference list, in its order: most
/// approved and in date, two overdue for review, one being written and one never written
/// (the two items left missing), and the plan replaced by a new version. Then documents
/// the list does not ask for: two drafts and a withdrawn procedure.
#[rustfmt::skip]
pub const DOCUMENTS: &[DocSpec] = &[
    doc("Scope of the service management system", "SMS scope statement", DocumentKind::Other, "sms_owner", Current),
    doc("Service management policy", "Service management policy", Policy, "sms_owner", Current),
    doc("Service management objectives", "Service management objectives", PlanDoc, "sms_manager", Current),
    doc("Risks and opportunities, approach to risk and acceptance criteria", "Risk management approach and acceptance criteria", Procedure, "sms_manager", Current),
    doc("Service management plan", "Service management plan", PlanDoc, "sms_manager", Replaced),
    doc("Service management system process descriptions", "SMS process manual", Procedure, "sms_manager", Current),
    doc("Service requirements", "Service requirements specification", DocumentKind::Other, "service_owner", Current),
    doc("Service catalogue", "Service catalogue", DocumentKind::Other, "service_level_manager", Current),
    doc("Definition of configuration item types", "Configuration item type model", Procedure, "configuration_manager", Current),
    doc("Service level agreements", "Service level agreements", Agreement, "service_level_manager", Current),
    doc("Contracts with external suppliers", "Supplier contracts register", Agreement, "supplier_manager", Overdue(20)),
    doc("Agreements with internal suppliers and customers acting as a supplier", "Operational level agreements", Agreement, "supplier_manager", Current),
    doc("Capacity requirements and plan", "Capacity plan", PlanDoc, "capacity_manager", Current),
    doc("Change management policy", "Change management policy", Policy, "change_manager", Current),
    doc("Release acceptance criteria", "Release acceptance criteria", Procedure, "release_manager", Current),
    doc("Major incident procedure", "Major incident procedure", Procedure, "incident_manager", Current),
    doc("Service availability requirements and targets", "Service availability requirements and targets", DocumentKind::Other, "capacity_manager", Current),
    doc("Service continuity plans", "Service continuity plan", PlanDoc, "continuity_manager", Overdue(45)),
    doc("Information security policy", "Information security policy", Policy, "security_manager", Current),
    doc("Internal audit programme", "Internal audit programme", PlanDoc, "internal_auditor", Current),
    doc("Evidence of competence", "Training and competence records", Record, "sms_manager", Current),
    doc("Configuration information", "Configuration management database extracts", Record, "configuration_manager", Current),
    doc("Service complaints", "Service complaints log", Record, "relationship_manager", Current),
    doc("Disputes with external suppliers", "Supplier dispute log", Record, "supplier_manager", Missing),
    doc("Requests for change", "Change records", Record, "change_manager", Current),
    doc("Incidents", "Incident records", Record, "incident_manager", Current),
    doc("Service requests", "Service request records", Record, "service_desk_lead", Current),
    doc("Problems and known errors", "Problem and known error records", Record, "problem_manager", Current),
    doc("Service availability monitoring results", "Monthly availability reports", Record, "capacity_manager", Current),
    doc("Service continuity plan test results", "Service continuity test reports", Record, "continuity_manager", Current),
    doc("Information security incidents", "Information security incident log", Record, "security_manager", Current),
    doc("Monitoring and measurement results", "SMS performance reports", Record, "sms_manager", Current),
    doc("Internal audit results", "Internal audit reports", Record, "internal_auditor", Current),
    doc("Management review results", "Management review minutes", Record, "sms_owner", Current),
    doc("Service reports", "Monthly service reports", Record, "service_level_manager", Draft),
    doc("Nonconformities, actions taken and corrective action results", "Corrective action register", Record, "sms_manager", Current),
    doc("Opportunities for improvement", "Improvement register", Record, "sms_manager", Current),
    DocSpec { covers: Covers::Clause("9.4"), title: "Service reporting procedure", kind: Procedure, owner_role: "service_level_manager", fate: Draft },
    DocSpec { covers: Covers::Clause("7.3"), title: "SMS awareness programme", kind: PlanDoc, owner_role: "sms_manager", fate: Draft },
    DocSpec { covers: Covers::Clause("8.6.2"), title: "E-mail request fulfilment procedure", kind: Procedure, owner_role: "service_desk_lead", fate: Withdrawn },
];

pub struct ImprovementSpec {
    pub key: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub source: ImprovementSource,
    /// The person responsible (a contributor implements it).
    pub owner: &'static str,
    pub created: i64,
    pub due: i64,
    pub steps: &'static [Move<ImprovementAction>],
}

/// Who proposes improvements, approves, evaluates and rejects them.
pub const IMPROVEMENT_MANAGER: &str = "sms_manager";

pub const IMPROVEMENTS: &[ImprovementSpec] = &[
    ImprovementSpec {
        key: "incident_kpis",
        title: "Generate the incident KPIs from the service management tool",
        description: "Replace the monthly KPI workbook with reports generated by the service management tool (opportunity for improvement raised by last year's internal audit).",
        source: ImprovementSource::AuditFinding,
        owner: "incident_manager",
        created: -320,
        due: -200,
        steps: &[
            mv(
                -315,
                ImprovementAction::Approve,
                IMPROVEMENT_MANAGER,
                Some(
                    "Two days of manual reporting saved each month; the KPIs available every day instead of once a month.",
                ),
            ),
            mv(
                -230,
                ImprovementAction::Implement,
                "incident_manager",
                Some("KPI dashboard live in the tool; the workbook retired."),
            ),
        ],
    },
    ImprovementSpec {
        key: "password_reset",
        title: "Self-service password reset",
        description: "Let users reset their own passwords from the service portal.",
        source: ImprovementSource::Suggestion,
        owner: "service_desk_lead",
        created: -280,
        due: -150,
        steps: &[
            mv(
                -270,
                ImprovementAction::Approve,
                IMPROVEMENT_MANAGER,
                Some("A third fewer calls to the service desk; resets at any hour."),
            ),
            mv(
                -180,
                ImprovementAction::Implement,
                "service_desk_lead",
                Some("Self-service reset live on the portal for all users."),
            ),
            mv(
                -90,
                ImprovementAction::Evaluate,
                IMPROVEMENT_MANAGER,
                Some(
                    "Password reset calls fell by 62 % over three months; the target is exceeded.",
                ),
            ),
        ],
    },
    ImprovementSpec {
        key: "supplier_scorecards",
        title: "Quarterly supplier scorecards",
        description: "Score the key suppliers every quarter against their contracts and review the scores with them.",
        source: ImprovementSource::Risk,
        owner: "supplier_manager",
        created: -190,
        due: -90,
        steps: &[
            mv(
                -185,
                ImprovementAction::Approve,
                IMPROVEMENT_MANAGER,
                Some("Supplier shortfalls seen within a quarter, not at contract renewal."),
            ),
            mv(
                -120,
                ImprovementAction::Implement,
                "supplier_manager",
                Some(
                    "Scorecards agreed with the three key suppliers; first quarterly reviews held.",
                ),
            ),
            mv(
                -60,
                ImprovementAction::Evaluate,
                IMPROVEMENT_MANAGER,
                Some(
                    "Two shortfalls found and corrected in the first quarter; the benefit is achieved.",
                ),
            ),
        ],
    },
    ImprovementSpec {
        key: "change_risk_scoring",
        title: "Automate change risk scoring",
        description: "Score the risk of each change from the configuration items it touches and their incident history.",
        source: ImprovementSource::Monitoring,
        owner: "change_manager",
        created: -200,
        due: 60,
        steps: &[mv(
            -190,
            ImprovementAction::Approve,
            IMPROVEMENT_MANAGER,
            Some(
                "Fewer failed changes: the change advisory board spends its time on the risky ones.",
            ),
        )],
    },
    ImprovementSpec {
        key: "maintenance_in_reports",
        title: "Show planned maintenance apart in availability reports",
        description: "Report planned maintenance separately from unplanned outages (opportunity for improvement raised by this year's internal audit).",
        source: ImprovementSource::AuditFinding,
        owner: "capacity_manager",
        created: -15,
        due: 90,
        steps: &[],
    },
    ImprovementSpec {
        key: "chatbot",
        title: "Chatbot on the service portal",
        description: "Answer common questions on the service portal with a chatbot.",
        source: ImprovementSource::Suggestion,
        owner: "service_desk_lead",
        created: -240,
        due: -60,
        steps: &[mv(
            -220,
            ImprovementAction::Reject,
            IMPROVEMENT_MANAGER,
            Some(
                "Self-service password reset addresses most of the demand at a fraction of the cost.",
            ),
        )],
    },
];

pub struct RiskSpec {
    pub title: &'static str,
    pub kind: RiskKind,
    pub description: &'static str,
    pub likelihood: i32,
    pub impact: i32,
    pub treatment: Option<&'static str>,
    /// The SMS role that owns it.
    pub owner_role: &'static str,
    pub process: Option<&'static str>,
    pub created: i64,
    pub review_due: i64,
    /// The corrective action (by title) or the improvement (by key) that carries out the
    /// treatment.
    pub corrective_action: Option<&'static str>,
    pub improvement: Option<&'static str>,
    pub steps: &'static [Move<RiskAction>],
}

/// Who records risks and takes them through their workflow.
pub const RISK_MANAGER: &str = "sms_manager";

/// Eight risks and opportunities: two identified, three being treated (one through a
/// corrective action, one through an improvement), two accepted (one after treatment) and
/// one closed.
pub const RISKS: &[RiskSpec] = &[
    RiskSpec {
        title: "Data lost through unverified backups",
        kind: RiskKind::Risk,
        description: "Backups that fail verification unnoticed could not be restored after a major disruption.",
        likelihood: 2,
        impact: 5,
        treatment: Some("Alert the on-call team on every failed verification (corrective action)."),
        owner_role: "continuity_manager",
        process: Some("CON"),
        created: -38,
        review_due: 50,
        corrective_action: Some("Backup verification failed without an alert"),
        improvement: None,
        steps: &[mv(-36, RiskAction::Treat, RISK_MANAGER, None)],
    },
    RiskSpec {
        title: "KPIs available every day from the service management tool",
        kind: RiskKind::Opportunity,
        description: "Incident KPIs generated by the tool would let process owners act within days instead of at month end.",
        likelihood: 4,
        impact: 2,
        treatment: Some("Build the KPI dashboard in the tool (improvement)."),
        owner_role: "incident_manager",
        process: Some("INC"),
        created: -318,
        review_due: 30,
        corrective_action: None,
        improvement: Some("incident_kpis"),
        steps: &[mv(-314, RiskAction::Treat, RISK_MANAGER, None)],
    },
    RiskSpec {
        title: "Leavers keep access to customer data",
        kind: RiskKind::Risk,
        description: "Accounts of people who left stay active and could be used to reach customer data.",
        likelihood: 3,
        impact: 4,
        treatment: Some("Disable accounts from the daily HR leavers feed."),
        owner_role: "security_manager",
        process: Some("ISM"),
        created: -28,
        review_due: 60,
        corrective_action: None,
        improvement: None,
        steps: &[mv(-24, RiskAction::Treat, RISK_MANAGER, None)],
    },
    RiskSpec {
        title: "Storage cluster runs out of capacity",
        kind: RiskKind::Risk,
        description: "Unplanned growth fills the storage cluster and stops the services that write to it.",
        likelihood: 3,
        impact: 4,
        treatment: Some("Route capacity warnings to the on-call queue with a response target."),
        owner_role: "capacity_manager",
        process: Some("CAP"),
        created: -179,
        review_due: 120,
        corrective_action: None,
        improvement: None,
        steps: &[
            mv(-175, RiskAction::Treat, RISK_MANAGER, None),
            mv(
                -118,
                RiskAction::Accept,
                "sms_owner",
                Some(
                    "With warnings handled within a working day the remaining risk is within the acceptance criteria.",
                ),
            ),
        ],
    },
    RiskSpec {
        title: "Release calendar slips by a few days",
        kind: RiskKind::Risk,
        description: "Minor releases move by a few days when test environments are busy.",
        likelihood: 4,
        impact: 1,
        treatment: None,
        owner_role: "release_manager",
        process: Some("RDM"),
        created: -210,
        review_due: 150,
        corrective_action: None,
        improvement: None,
        steps: &[mv(
            -205,
            RiskAction::Accept,
            "sms_owner",
            Some("Low score; customers are told of release dates a week ahead."),
        )],
    },
    RiskSpec {
        title: "Requests lost in the shared e-mail mailbox",
        kind: RiskKind::Risk,
        description: "Requests sent by e-mail to the legacy mailbox could go unanswered.",
        likelihood: 2,
        impact: 2,
        treatment: None,
        owner_role: "service_desk_lead",
        process: Some("LRF"),
        created: -360,
        review_due: -120,
        corrective_action: None,
        improvement: None,
        steps: &[
            mv(
                -355,
                RiskAction::Accept,
                "sms_owner",
                Some("Low volume, checked daily until the mailbox is retired."),
            ),
            mv(-119, RiskAction::Close, RISK_MANAGER, None),
        ],
    },
    RiskSpec {
        title: "Key hosting supplier fails",
        kind: RiskKind::Risk,
        description: "The hosting supplier of the data centre services stops trading or loses its certification.",
        likelihood: 2,
        impact: 5,
        treatment: None,
        owner_role: "supplier_manager",
        process: Some("SUP"),
        created: -10,
        review_due: 20,
        corrective_action: None,
        improvement: None,
        steps: &[],
    },
    RiskSpec {
        title: "Shared monitoring platform with the security team",
        kind: RiskKind::Opportunity,
        description: "One monitoring platform for availability and security events would cut licence costs and blind spots.",
        likelihood: 3,
        impact: 3,
        treatment: None,
        owner_role: "capacity_manager",
        process: Some("AVL"),
        created: -5,
        review_due: 85,
        corrective_action: None,
        improvement: None,
        steps: &[],
    },
];

/// An action a management review decides, as `POST /management-reviews/{id}/actions`
/// takes it.
pub struct ReviewCaSpec {
    pub title: &'static str,
    pub nonconformity: &'static str,
    pub clause: &'static str,
    pub process: &'static str,
    pub owner: &'static str,
    pub due: i64,
}

pub struct ReviewImprovementSpec {
    pub title: &'static str,
    pub description: &'static str,
    pub benefit: &'static str,
    pub owner: &'static str,
    pub due: i64,
}

/// A review that took place: what it considered, decided and recorded.
pub struct HeldSpec {
    pub on: i64,
    /// The inputs of clause 9.3, in the order of `ReviewInputs`.
    pub inputs: [&'static str; 10],
    pub decisions: &'static [&'static str],
    pub minutes: &'static str,
    pub corrective_action: ReviewCaSpec,
    pub improvement: ReviewImprovementSpec,
    pub approved: i64,
}

pub struct ReviewSpec {
    /// `{year}` is replaced by the year it is planned for.
    pub title: &'static str,
    pub created: i64,
    pub planned_for: i64,
    pub attendees: &'static [&'static str],
    pub held: Option<HeldSpec>,
}

/// Who plans and records management reviews, and who chairs and approves them.
pub const REVIEW_SECRETARY: &str = "sms_manager";
pub const REVIEW_CHAIR: &str = "sms_owner";

const REVIEW_BOARD: &[&str] = &[
    "sms_owner",
    "sms_manager",
    "service_owner",
    "cio",
    "security_manager",
    "service_level_manager",
];

pub const MANAGEMENT_REVIEWS: &[ReviewSpec] = &[
    ReviewSpec {
        title: "Management review {year}, first half",
        created: -150,
        planned_for: -120,
        attendees: REVIEW_BOARD,
        held: Some(HeldSpec {
            on: -120,
            inputs: [
                "The supplier review action of the last review was merged into the supplier scorecards improvement, now implemented.",
                "Two new enterprise customers; the hosting supplier announced a change of ownership.",
                "The SMS is effective overall: 20 processes active, one legacy process retired.",
                "Five objectives active: three on track, one at risk, one off track (change success rate).",
                "Last year's audit found one major and two minor nonconformities, all corrected; corrective actions are closed on time.",
                "Availability met its targets for all services; one supplier missed its response times twice.",
                "Customer satisfaction at 4.1 of 5; one complaint about a wrong service level report.",
                "The service desk is one person short; the tooling budget is sufficient.",
                "Storage capacity risk treated and accepted; backup and leaver risks need attention.",
                "Automating change risk scoring and KPI reporting; a shared monitoring platform to be studied.",
            ],
            decisions: &[
                "Recruit a service desk analyst in the next quarter.",
                "Raise a corrective action for the overdue supplier reviews of the service levels.",
                "Propose a knowledge base for the service desk.",
                "Hold the next management review in six months.",
            ],
            minutes: "https://dms.demo.example/sms/management-review-minutes-h1.pdf",
            corrective_action: ReviewCaSpec {
                title: "Service level reviews with suppliers overdue",
                nonconformity: "The management review found that the service levels of two suppliers were not reviewed in the last two quarters.",
                clause: "8.3.4.1",
                process: "SUP",
                owner: "supplier_manager",
                due: 30,
            },
            improvement: ReviewImprovementSpec {
                title: "Knowledge base for the service desk",
                description: "Give the service desk searchable known solutions, linked from incidents and requests.",
                benefit: "More first-contact resolutions, fewer escalations to second line.",
                owner: "service_desk_lead",
                due: 120,
            },
            approved: -110,
        }),
    },
    ReviewSpec {
        title: "Management review {year}, second half",
        created: -20,
        planned_for: 60,
        attendees: REVIEW_BOARD,
        held: None,
    },
];

/// Where a role member stands with a required competence; every other one is held by a
/// current record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// No record at all.
    Missing,
    /// A record that expired this many days ago.
    Expired(i64),
}

/// The competence gaps of a business unit: (person, competence, how it stands).
pub const TRAINING_GAPS: &[(&str, &str, Held)] = &[
    ("problem_manager", "Root cause analysis", Held::Missing),
    ("auditor", "ISO 19011 auditing", Held::Missing),
    (
        "continuity_manager",
        "Disaster recovery testing",
        Held::Expired(40),
    ),
    (
        "security_manager",
        "Information security management (ISO/IEC 27001)",
        Held::Expired(75),
    ),
];

/// Who records training (a manager); how long certificates stay valid, and every how many
/// records one expires.
pub const TRAINING_RECORDER: &str = "sms_manager";
pub const CERTIFICATE_DAYS: i64 = 3 * 365;
pub const EXPIRING_EVERY: usize = 3;

/// A gap assessment: every requirement clause in `scope` (clauses and their sub-clauses;
/// empty: all of them) judged `met`, but those in `gaps`.
pub struct AssessmentSpec {
    /// `{year}` is replaced by the year it was carried out.
    pub title: &'static str,
    pub description: &'static str,
    pub scope_note: &'static str,
    pub assessed_on: i64,
    pub completed: Option<i64>,
    pub scope: &'static [&'static str],
    pub gaps: &'static [(&'static str, ResultStatus, &'static str)],
}

/// Who carries out gap assessments.
pub const ASSESSOR: &str = "sms_manager";
/// The evidence of a requirement clause that is met.
pub const MET_EVIDENCE: &str =
    "Documented information reviewed and records sampled; interviews with the process owners.";

use ResultStatus::{NotMet, PartiallyMet};

/// The completed baseline a year before certification, and this year's follow-up in
/// progress: better on risk, change approval, measurement, review and improvement, worse
/// on continuity testing, access control and service reporting.
pub const ASSESSMENTS: &[AssessmentSpec] = &[
    AssessmentSpec {
        title: "Gap assessment {year}: baseline",
        description: "The whole SMS judged against ISO/IEC 20000-1:2018 before planning the certification.",
        scope_note: "All services of the business unit; every requirement clause.",
        assessed_on: -305,
        completed: Some(-300),
        scope: &[],
        gaps: &[
            (
                "6.1",
                PartiallyMet,
                "Risk criteria are defined, but risks are not reviewed at planned intervals.",
            ),
            (
                "7.2",
                PartiallyMet,
                "Competence requirements are defined for the SMS roles; training records are incomplete.",
            ),
            (
                "7.5.3",
                NotMet,
                "Documents are kept on personal drives without version control.",
            ),
            (
                "8.2.5",
                PartiallyMet,
                "The asset register covers hardware only.",
            ),
            (
                "8.3.4.1",
                PartiallyMet,
                "Supplier contracts are reviewed only at renewal.",
            ),
            (
                "8.5.1.2",
                NotMet,
                "Changes reach production without a recorded approval.",
            ),
            (
                "9.1",
                PartiallyMet,
                "KPIs are compiled by hand; three months are missing.",
            ),
            (
                "9.3",
                NotMet,
                "No management review was held in the last 12 months.",
            ),
            (
                "10.2",
                PartiallyMet,
                "Improvements are not evaluated against their expected benefit.",
            ),
        ],
    },
    AssessmentSpec {
        title: "Gap assessment {year}: follow-up",
        description: "Follow-up of the baseline on the clauses it found weakest, before the stage 1 audit.",
        scope_note: "Leadership, planning, change, continuity and security, performance evaluation and improvement.",
        assessed_on: -14,
        completed: None,
        scope: &["5", "6", "8.5", "8.7", "9", "10"],
        gaps: &[
            (
                "8.7.2",
                NotMet,
                "The continuity plan was not tested in the last 12 months.",
            ),
            (
                "8.7.3.2",
                PartiallyMet,
                "Leavers' access is not always removed within 24 hours.",
            ),
            (
                "9.4",
                PartiallyMet,
                "Service reporting is still being defined.",
            ),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::assessment::requirement;
    use crate::domain::clause;
    use crate::domain::documented_information::{DocumentedInformationKind, reference_list};
    use std::collections::HashSet;

    fn keys<'a>(items: impl Iterator<Item = &'a str>) -> HashSet<&'a str> {
        let mut seen = HashSet::new();
        for k in items {
            assert!(seen.insert(k), "duplicate key {k}");
        }
        seen
    }

    #[test]
    fn the_catalog_refers_to_what_it_defines() {
        let people = keys(PEOPLE.iter().map(|p| p.key));
        let roles = keys(ROLES.iter().map(|r| r.key));
        let processes = keys(PROCESSES.iter().map(|p| p.code));
        keys(OBJECTIVES.iter().map(|o| o.key));
        let findings = keys(AUDITS.iter().flat_map(|a| a.findings).map(|f| f.key));
        assert!(FIRST_NAMES.len() > PEOPLE.len());
        for r in ROLES {
            assert!(r.members.iter().all(|m| people.contains(m)), "{}", r.key);
        }
        for p in PROCESSES {
            assert!(p.raci.iter().all(|r| roles.contains(r)), "{}", p.code);
            assert_eq!(keys(p.raci.iter().copied()).len(), 4, "{}", p.code);
            assert!(p.clauses.iter().all(|c| clause::exists(c)), "{}", p.code);
        }
        let catalog_processes: HashSet<&str> = clause::catalog()
            .iter()
            .filter(|c| c.is_process)
            .map(|c| c.clause.as_str())
            .collect();
        let active: HashSet<&str> = PROCESSES
            .iter()
            .filter(|p| p.state == ProcessState::Active)
            .flat_map(|p| p.clauses.iter().copied())
            .collect();
        assert_eq!(
            active, catalog_processes,
            "one active process per clause-8 process"
        );
        for o in OBJECTIVES {
            assert!(
                processes.contains(o.process) && roles.contains(o.owner_role),
                "{}",
                o.key
            );
            assert!(o.clauses.iter().all(|c| clause::exists(c)), "{}", o.key);
            let first = ROLES
                .iter()
                .find(|r| r.key == o.owner_role)
                .unwrap()
                .members[0];
            let recorder = PEOPLE.iter().find(|p| p.key == first).unwrap();
            assert!(recorder.roles.contains(&Contributor) || recorder.roles.contains(&Manager));
            let last = o.first_measurement + MEASUREMENT_INTERVAL * (o.shares.len() as i64 - 1);
            assert!(
                o.shares.is_empty() || (last < 0 && last < o.ended.unwrap_or(0)),
                "{}",
                o.key
            );
        }
        for a in AUDITS {
            assert!(a.scope_processes.iter().all(|p| processes.contains(p)));
            assert!(a.scope_clauses.iter().all(|c| clause::exists(c)));
            for f in a.findings {
                assert!(f.clause.is_some() || !f.finding_type.is_nonconformity());
                assert!(!f.closed || !f.finding_type.is_nonconformity());
                assert!(a.scope_processes.contains(&f.process), "{}", f.key);
            }
        }
        for ca in CORRECTIVE_ACTIONS {
            assert_eq!(
                ca.finding.is_some(),
                ca.source == AuditFinding,
                "{}",
                ca.title
            );
            assert!(
                ca.finding.is_none_or(|f| findings.contains(f)),
                "{}",
                ca.title
            );
            assert!(
                ca.process.is_none_or(|p| processes.contains(p)),
                "{}",
                ca.title
            );
            assert!(people.contains(ca.owner));
            let mut day = ca.created;
            for s in ca.steps {
                assert!(
                    people.contains(s.by) && s.day > day && s.day < 0,
                    "{}",
                    ca.title
                );
                day = s.day;
            }
        }
        let improvements = keys(IMPROVEMENTS.iter().map(|i| i.key));
        for i in IMPROVEMENTS {
            assert!(people.contains(i.owner), "{}", i.key);
            moves_in_order(i.created, i.steps, &people, i.key);
            assert!(i.steps.iter().all(|s| s.text.is_some()), "{}", i.key);
        }
        for r in RISKS {
            assert!(roles.contains(r.owner_role), "{}", r.title);
            assert!(
                r.process.is_none_or(|p| processes.contains(p)),
                "{}",
                r.title
            );
            assert!(
                r.corrective_action
                    .is_none_or(|t| CORRECTIVE_ACTIONS.iter().any(|c| c.title == t)),
                "{}",
                r.title
            );
            assert!(r.improvement.is_none_or(|k| improvements.contains(k)));
            moves_in_order(r.created, r.steps, &people, r.title);
            for s in r.steps {
                // Only `accept` takes a text (the rationale); `treat` uses the treatment.
                assert_eq!(
                    s.text.is_some(),
                    s.action == RiskAction::Accept,
                    "{}",
                    r.title
                );
                assert!(s.action != RiskAction::Treat || r.treatment.is_some());
            }
        }
        for m in MANAGEMENT_REVIEWS {
            assert!(m.attendees.iter().all(|p| people.contains(p)));
            if let Some(h) = &m.held {
                assert!(m.created < h.on && h.on < h.approved && h.approved < 0);
                assert!(
                    people.contains(h.corrective_action.owner)
                        && people.contains(h.improvement.owner)
                );
                assert!(processes.contains(h.corrective_action.process));
                assert!(clause::exists(h.corrective_action.clause));
            }
        }
        for (person, competence, _) in TRAINING_GAPS {
            assert!(
                ROLES
                    .iter()
                    .any(|r| r.members.contains(person)
                        && r.required_competences.contains(competence)),
                "{person}: {competence}"
            );
        }
        for a in ASSESSMENTS {
            assert!(a.completed.is_none_or(|d| a.assessed_on <= d && d < 0));
            for (c, status, _) in a.gaps {
                assert!(requirement(c).is_ok(), "{c}");
                assert!(*status != ResultStatus::Met);
            }
        }
    }

    fn moves_in_order<A>(created: i64, steps: &[Move<A>], people: &HashSet<&str>, what: &str) {
        let mut day = created;
        for s in steps {
            assert!(people.contains(s.by) && s.day > day && s.day < 0, "{what}");
            day = s.day;
        }
    }

    #[test]
    fn one_document_for_each_item_of_the_reference_list() {
        let roles: HashSet<&str> = ROLES.iter().map(|r| r.key).collect();
        for item in reference_list() {
            let docs: Vec<&DocSpec> = DOCUMENTS
                .iter()
                .filter(|d| d.covers == Covers::Item(&item.name))
                .collect();
            assert_eq!(docs.len(), 1, "{}", item.name);
            let record = item.kind == DocumentedInformationKind::Record;
            assert_eq!(
                docs[0].kind == DocumentKind::Record,
                record,
                "{}",
                item.name
            );
        }
        for d in DOCUMENTS {
            assert!(roles.contains(d.owner_role), "{}", d.title);
            match d.covers {
                Covers::Item(name) => {
                    assert!(reference_list().iter().any(|i| i.name == name), "{name}")
                }
                Covers::Clause(c) => {
                    assert!(clause::exists(c), "{c}");
                    assert!(d.fate != Missing, "{}", d.title);
                }
            }
        }
        let fates = |f: fn(DocFate) -> bool| DOCUMENTS.iter().filter(|d| f(d.fate)).count();
        assert!(fates(|f| f == Missing) >= 1 && fates(|f| f == Draft) >= 2);
        assert!(fates(|f| matches!(f, Overdue(_))) >= 2);
    }
}
