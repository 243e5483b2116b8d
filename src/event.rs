//! The event vocabulary: a closed, typed set of dated facts about
//! organisations that knows nothing of any one domain.
//!
//! Every event has a `type`, a `date` (when it happened, EDTF), a non-empty
//! `sources` array and the fields of its type. The same vocabulary serves
//! clusters, accelerators, regions, communes, companies and labels.
//!
//! This module checks only an event's *shape* (see [`Event::from_json`] and
//! [`Event::check_shape`]); whether it fits the history is the job of
//! [`crate::fold`].

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::date::Date;

/// Largest integer JSON carries exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Longest identifier accepted.
pub const MAX_ID_LEN: usize = 128;

/// A source citation: the document, optionally a verbatim quote and a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The document: a file name, or a publication and its date.
    pub doc: CompactString,
    /// A verbatim quote from the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<CompactString>,
    /// Where the document can be found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<CompactString>,
}

/// A new organisation's identity, used by `created` and by `transformed`
/// for the organisations a change brings into being.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSpec {
    /// Stable identifier (see [`check_id`]).
    pub id: CompactString,
    /// Display name.
    pub name: CompactString,
    /// Free-text kind: `cluster`, `commune`, `company`, `region`…
    pub kind: CompactString,
    /// Attributes such as `seat`, `place`, `legal_form`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<CompactString, CompactString>,
}

/// How n organisations become m.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeMode {
    /// Two or more organisations end and one new organisation is created.
    Fusion,
    /// One or more organisations end, absorbed into one that already exists.
    Absorption,
    /// One organisation ends and two or more (new or existing) take over.
    Split,
    /// One organisation continues and one or more new ones are carved out.
    SpinOff,
    /// An organisation that ended in a merger comes back, carved out of the
    /// one it merged into, which continues.
    Reestablishment,
    /// The same organisation continues under a new identifier.
    IdChange,
}

impl ChangeMode {
    /// Snake-case name as written in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeMode::Fusion => "fusion",
            ChangeMode::Absorption => "absorption",
            ChangeMode::Split => "split",
            ChangeMode::SpinOff => "spin_off",
            ChangeMode::Reestablishment => "reestablishment",
            ChangeMode::IdChange => "id_change",
        }
    }
}

/// The status of a candidacy for a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidacyStatus {
    /// The candidate applies (or announces it will).
    Filed,
    /// The granting body said no.
    Refused,
    /// The candidate gave up.
    Withdrawn,
}

/// How a membership or partnership relates two parties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The member belongs to the organisation.
    Member,
    /// The partner works with, funds or backs the organisation.
    Partner,
}

/// A party that is either an organisation of the ledger or only named.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// An organisation of the ledger, by id: it must exist on the date.
    Org(CompactString),
    /// Someone outside the ledger, by name.
    Name(CompactString),
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Org(id) => write!(f, "{id}"),
            Party::Name(name) => write!(f, "\"{name}\""),
        }
    }
}

/// What a correction does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionMode {
    /// The target never happened: it stops counting from the correction on.
    Retract,
    /// The target is replaced by `replacement` from the correction on.
    Supersede,
}

/// The fields specific to each event type, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// An organisation comes into being.
    Created {
        /// Its identity.
        #[serde(flatten)]
        org: OrgSpec,
    },
    /// n organisations become m (fusion, absorption, split…).
    Transformed {
        /// Which kind of change.
        mode: ChangeMode,
        /// Predecessors.
        from: Vec<CompactString>,
        /// Successors.
        to: Vec<CompactString>,
        /// Successors that the change creates (each also listed in `to`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        new: Vec<OrgSpec>,
    },
    /// An organisation takes a new name.
    Renamed {
        /// The organisation.
        org: CompactString,
        /// Its new name.
        name: CompactString,
    },
    /// An organisation ends without successor.
    Dissolved {
        /// The organisation.
        org: CompactString,
    },
    /// An attribute is set, or removed with `null`.
    AttributeSet {
        /// The organisation.
        org: CompactString,
        /// Attribute name.
        key: CompactString,
        /// New value; `null` removes it.
        value: Option<CompactString>,
    },
    /// A label is granted to a holder.
    LabelGranted {
        /// The label.
        label: CompactString,
        /// The holder: an organisation of the ledger.
        holder: CompactString,
        /// The granting body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<CompactString>,
    },
    /// A label is withdrawn from its holder.
    LabelWithdrawn {
        /// The label.
        label: CompactString,
        /// The holder.
        holder: CompactString,
    },
    /// A candidacy for a label is filed, refused or withdrawn.
    Candidacy {
        /// The label sought.
        label: CompactString,
        /// The candidate: an organisation of the ledger.
        candidate: CompactString,
        /// What happened to the candidacy.
        status: CandidacyStatus,
    },
    /// A program (call for projects, accelerator cohort…) starts.
    ProgramLaunched {
        /// Program identifier (shares the organisations' id space).
        program: CompactString,
        /// Display name.
        name: CompactString,
        /// The organisation that runs it.
        owner: CompactString,
        /// Free-text kind: `call_for_projects`, `cohort`…
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<CompactString>,
    },
    /// A program ends.
    ProgramEnded {
        /// Program identifier.
        program: CompactString,
    },
    /// A site (office, branch, antenna) opens.
    SiteOpened {
        /// The organisation.
        org: CompactString,
        /// The place.
        site: CompactString,
    },
    /// A site closes.
    SiteClosed {
        /// The organisation.
        org: CompactString,
        /// The place.
        site: CompactString,
    },
    /// A member or partner joins an organisation.
    Joined {
        /// The organisation joined.
        org: CompactString,
        /// Who joins.
        member: Party,
        /// Member or partner.
        relation: Relation,
    },
    /// A member or partner leaves.
    Left {
        /// The organisation left.
        org: CompactString,
        /// Who leaves.
        member: Party,
        /// Member or partner.
        relation: Relation,
    },
    /// A person takes a role.
    RoleStarted {
        /// The organisation.
        org: CompactString,
        /// The person's name.
        person: CompactString,
        /// The role: `director`, `president`…
        role: CompactString,
    },
    /// A person leaves a role.
    RoleEnded {
        /// The organisation.
        org: CompactString,
        /// The person's name.
        person: CompactString,
        /// The role.
        role: CompactString,
    },
    /// Point-in-time figures, for the date they describe.
    Figures {
        /// The organisation (or program) measured.
        org: CompactString,
        /// Name → integer value.
        values: BTreeMap<CompactString, u64>,
    },
    /// A dated step that changes no state: an announcement, a vote, a
    /// seminar, a presence at a fair.
    Milestone {
        /// The organisations concerned (may be empty).
        #[serde(default)]
        orgs: Vec<CompactString>,
        /// One line saying what happened.
        summary: CompactString,
    },
    /// A change announced for a date; it never counts as having happened.
    /// The outer `date` is when the plan was stated, the inner one when it
    /// is to happen.
    Planned {
        /// The planned event (not itself a plan, an abandonment or a
        /// correction).
        planned: Box<Event>,
    },
    /// A plan given up: it will not be carried out. The `date` is when it
    /// was given up (or became known to be).
    PlanAbandoned {
        /// Hash of the plan's record: a `planned` record, or a correction
        /// whose replacement is a plan (what `fulfils` would name).
        plan: CompactString,
    },
    /// Retracts or supersedes an earlier record, named by its hash.
    Correction {
        /// Hash of the corrected record.
        target: CompactString,
        /// Retract or supersede.
        mode: CorrectionMode,
        /// For `supersede`: the event that takes the target's place.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replacement: Option<Box<Event>>,
        /// Why.
        reason: CompactString,
    },
}

/// One dated, sourced event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The type and its fields.
    #[serde(flatten)]
    pub body: Body,
    /// When it happened (or, for a plan, when it was stated).
    pub date: Date,
    /// Where the fact comes from; never empty.
    pub sources: Vec<Source>,
    /// Free-text note: reasoning about dates, caveats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<CompactString>,
    /// Hash of the `planned` record this event carries out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfils: Option<CompactString>,
}

/// Why an event's shape was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Not valid JSON, or not an object.
    #[error("not a JSON event object: {0}")]
    Json(String),
    /// A field is missing, mistyped or unknown.
    #[error("{0}")]
    Field(String),
    /// A field holds a value the vocabulary forbids.
    #[error("field `{field}`: {rule}")]
    Rule {
        /// JSON path of the field, e.g. `sources[0].doc`.
        field: String,
        /// The rule broken, with the offending value quoted.
        rule: String,
    },
}

impl Event {
    /// Parses and shape-checks one event from a JSON value. Unknown fields
    /// anywhere are refused, so that a typo never passes silently.
    pub fn from_json(value: &Value) -> Result<Event, ShapeError> {
        if !value.is_object() {
            return Err(ShapeError::Json(format!(
                "expected an object, found {}",
                json_kind(value)
            )));
        }
        // Deserialising from a borrowed `Value` copies only the strings the
        // typed event keeps. Only when something is wrong is the input
        // walked again ([`diagnose`]) to name the field and say why in
        // words: the happy path pays nothing for good messages.
        let event = match Event::deserialize(value) {
            Ok(event) => event,
            Err(e) => {
                return Err(diagnose(value, "").map_or_else(
                    || ShapeError::Field(strip_serde_position(&e.to_string())),
                    |p| p.error,
                ));
            }
        };
        if let Some(path) = unknown_field(value, &event, "") {
            return Err(match diagnose(value, "") {
                Some(p) if p.path == path => p.error,
                _ => unknown_member(path, &[], "", &[]),
            });
        }
        event.check_shape()?;
        Ok(event)
    }

    /// The event as the JSON object stored in the ledger.
    pub fn to_json(&self) -> Value {
        // Serialising plain data structures with string keys cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The `type` string.
    pub fn type_name(&self) -> &'static str {
        self.body.type_name()
    }

    /// Checks the rules that need no history: non-empty sources and strings,
    /// identifier syntax, arity of changes, safe integers, nesting of plans
    /// and corrections, hash syntax.
    pub fn check_shape(&self) -> Result<(), ShapeError> {
        self.check_shape_at("")
    }

    fn check_shape_at(&self, prefix: &str) -> Result<(), ShapeError> {
        let rule = |field: &str, rule: String| ShapeError::Rule {
            field: format!("{prefix}{field}"),
            rule,
        };
        if self.sources.is_empty() {
            return Err(rule("sources", "must cite at least one source".into()));
        }
        for (i, s) in self.sources.iter().enumerate() {
            non_empty(&s.doc).map_err(|r| rule(&format!("sources[{i}].doc"), r))?;
            if let Some(q) = &s.quote {
                non_empty(q).map_err(|r| rule(&format!("sources[{i}].quote"), r))?;
            }
        }
        if let Some(h) = &self.fulfils {
            check_hash(h).map_err(|r| rule("fulfils", r))?;
        }
        let id = |field: &str, v: &str| check_id(v).map_err(|r| rule(field, r));
        let text = |field: &str, v: &str| non_empty(v).map_err(|r| rule(field, r));
        match &self.body {
            Body::Created { org } => check_spec(org, "", &rule)?,
            Body::Transformed {
                mode,
                from,
                to,
                new,
            } => {
                for (i, f) in from.iter().enumerate() {
                    id(&format!("from[{i}]"), f)?;
                }
                for (i, t) in to.iter().enumerate() {
                    id(&format!("to[{i}]"), t)?;
                }
                for (i, n) in new.iter().enumerate() {
                    check_spec(n, &format!("new[{i}]."), &rule)?;
                    if !to.contains(&n.id) {
                        return Err(rule(
                            &format!("new[{i}].id"),
                            format!("`{}` is created by the change but not listed in `to`", n.id),
                        ));
                    }
                }
                check_arity(*mode, from.len(), to.len(), new.len()).map_err(|r| rule("mode", r))?;
                if let Some(dup) = first_duplicate(from.iter().chain(to.iter())) {
                    let field = if first_duplicate(from.iter()).is_some() {
                        "from"
                    } else {
                        "to"
                    };
                    return Err(rule(
                        field,
                        format!("`{dup}` appears twice among `from` and `to`"),
                    ));
                }
            }
            Body::Renamed { org, name } => {
                id("org", org)?;
                text("name", name)?;
            }
            Body::Dissolved { org } | Body::ProgramEnded { program: org } => id(
                if matches!(self.body, Body::Dissolved { .. }) {
                    "org"
                } else {
                    "program"
                },
                org,
            )?,
            Body::AttributeSet { org, key, value } => {
                id("org", org)?;
                text("key", key)?;
                if let Some(v) = value {
                    text("value", v)?;
                }
            }
            Body::LabelGranted { label, holder, by } => {
                text("label", label)?;
                id("holder", holder)?;
                if let Some(b) = by {
                    text("by", b)?;
                }
            }
            Body::LabelWithdrawn { label, holder } => {
                text("label", label)?;
                id("holder", holder)?;
            }
            Body::Candidacy {
                label, candidate, ..
            } => {
                text("label", label)?;
                id("candidate", candidate)?;
            }
            Body::ProgramLaunched {
                program,
                name,
                owner,
                kind,
            } => {
                id("program", program)?;
                text("name", name)?;
                id("owner", owner)?;
                if let Some(k) = kind {
                    text("kind", k)?;
                }
            }
            Body::SiteOpened { org, site } | Body::SiteClosed { org, site } => {
                id("org", org)?;
                text("site", site)?;
            }
            Body::Joined { org, member, .. } | Body::Left { org, member, .. } => {
                id("org", org)?;
                match member {
                    Party::Org(m) => {
                        id("member.org", m)?;
                        if m == org {
                            return Err(rule("member.org", format!("`{m}` cannot join itself")));
                        }
                    }
                    Party::Name(n) => text("member.name", n)?,
                }
            }
            Body::RoleStarted { org, person, role } | Body::RoleEnded { org, person, role } => {
                id("org", org)?;
                text("person", person)?;
                text("role", role)?;
            }
            Body::Figures { org, values } => {
                id("org", org)?;
                if values.is_empty() {
                    return Err(rule("values", "must hold at least one figure".into()));
                }
                for (k, v) in values {
                    non_empty(k).map_err(|_| rule("values", empty_key(k, "figure")))?;
                    if *v > MAX_SAFE_INTEGER {
                        return Err(rule(
                            &format!("values.{k}"),
                            format!("{v} is larger than 2^53-1, which JSON cannot carry exactly"),
                        ));
                    }
                }
            }
            Body::Milestone { orgs, summary } => {
                for (i, o) in orgs.iter().enumerate() {
                    id(&format!("orgs[{i}]"), o)?;
                }
                text("summary", summary)?;
            }
            Body::Planned { planned } => {
                if matches!(
                    planned.body,
                    Body::Planned { .. } | Body::PlanAbandoned { .. } | Body::Correction { .. }
                ) {
                    return Err(rule(
                        "planned.type",
                        format!("a plan cannot plan a `{}`", planned.type_name()),
                    ));
                }
                if planned.fulfils.is_some() {
                    return Err(rule(
                        "planned.fulfils",
                        "a plan cannot fulfil a plan".into(),
                    ));
                }
                planned.check_shape_at(&format!("{prefix}planned."))?;
            }
            Body::PlanAbandoned { plan } => check_hash(plan).map_err(|r| rule("plan", r))?,
            Body::Correction {
                target,
                mode,
                replacement,
                reason,
            } => {
                check_hash(target).map_err(|r| rule("target", r))?;
                text("reason", reason)?;
                match (mode, replacement) {
                    (CorrectionMode::Retract, Some(_)) => {
                        return Err(rule(
                            "replacement",
                            "a retraction has no replacement; use mode `supersede`".into(),
                        ));
                    }
                    (CorrectionMode::Supersede, None) => {
                        return Err(rule(
                            "replacement",
                            "mode `supersede` needs a replacement event".into(),
                        ));
                    }
                    (_, Some(r)) => {
                        if matches!(r.body, Body::Correction { .. }) {
                            return Err(rule(
                                "replacement.type",
                                "a replacement cannot itself be a correction".into(),
                            ));
                        }
                        r.check_shape_at(&format!("{prefix}replacement."))?;
                    }
                    (CorrectionMode::Retract, None) => {}
                }
            }
        }
        Ok(())
    }

    /// Every organisation or program id the event refers to (not those it
    /// creates), in field order.
    pub fn referenced_ids(&self) -> Vec<&str> {
        let mut ids = Vec::new();
        self.each_referenced_id(&mut |id| ids.push(id));
        ids
    }

    /// Calls `f` with each id of [`Event::referenced_ids`], in that order,
    /// without collecting them.
    pub fn each_referenced_id<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        match &self.body {
            Body::Created { .. }
            | Body::Correction { .. }
            | Body::Planned { .. }
            | Body::PlanAbandoned { .. } => {}
            Body::Transformed { from, to, new, .. } => {
                let kept = to.iter().filter(|t| !new.iter().any(|n| n.id == **t));
                from.iter().chain(kept).for_each(|id| f(id));
            }
            Body::Renamed { org, .. }
            | Body::Dissolved { org }
            | Body::AttributeSet { org, .. }
            | Body::SiteOpened { org, .. }
            | Body::SiteClosed { org, .. }
            | Body::RoleStarted { org, .. }
            | Body::RoleEnded { org, .. }
            | Body::Figures { org, .. } => f(org),
            Body::LabelGranted { holder, .. } | Body::LabelWithdrawn { holder, .. } => f(holder),
            Body::Candidacy { candidate, .. } => f(candidate),
            Body::ProgramLaunched { owner, .. } => f(owner),
            Body::ProgramEnded { program } => f(program),
            Body::Joined { org, member, .. } | Body::Left { org, member, .. } => {
                f(org);
                if let Party::Org(m) = member {
                    f(m);
                }
            }
            Body::Milestone { orgs, .. } => orgs.iter().for_each(|id| f(id)),
        }
    }

    /// The names the event gives organisations, as (id, name) pairs: a
    /// creation's, the new organisations' of a change, a rename's, and a
    /// supersede's replacement's. A plan gives none: it never happens.
    pub fn names_given(&self) -> Vec<(&str, &str)> {
        match &self.body {
            Body::Created { org } => vec![(org.id.as_str(), org.name.as_str())],
            Body::Transformed { new, .. } => new
                .iter()
                .map(|o| (o.id.as_str(), o.name.as_str()))
                .collect(),
            Body::Renamed { org, name } => vec![(org.as_str(), name.as_str())],
            Body::Correction {
                replacement: Some(r),
                ..
            } => r.names_given(),
            _ => Vec::new(),
        }
    }

    /// Every id the event mentions, created or referenced, including inside
    /// plans and replacements: what `log --org` filters on.
    pub fn mentioned_ids(&self) -> Vec<&str> {
        let mut ids = Vec::new();
        self.each_mentioned_id(&mut |id| ids.push(id));
        ids
    }

    /// Calls `f` with each id of [`Event::mentioned_ids`], in that order,
    /// without collecting them.
    pub fn each_mentioned_id<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        self.each_referenced_id(f);
        match &self.body {
            Body::Created { org } => f(&org.id),
            Body::Transformed { new, .. } => new.iter().for_each(|n| f(&n.id)),
            Body::ProgramLaunched { program, .. } => f(program),
            Body::Planned { planned } => planned.each_mentioned_id(f),
            Body::Correction {
                replacement: Some(r),
                ..
            } => r.each_mentioned_id(f),
            _ => {}
        }
    }

    /// A one-line, human summary: `fusion edit + grilog -> clustr`.
    pub fn summary(&self) -> String {
        match &self.body {
            Body::Created { org } => format!("{} \"{}\" ({})", org.id, org.name, org.kind),
            Body::Transformed { mode, from, to, .. } => {
                format!(
                    "{} {} -> {}",
                    mode.as_str(),
                    from.join(" + "),
                    to.join(" + ")
                )
            }
            Body::Renamed { org, name } => format!("{org} -> \"{name}\""),
            Body::Dissolved { org } => org.to_string(),
            Body::AttributeSet { org, key, value } => match value {
                Some(v) => format!("{org}.{key} = \"{v}\""),
                None => format!("{org}.{key} removed"),
            },
            Body::LabelGranted { label, holder, .. } => format!("\"{label}\" to {holder}"),
            Body::LabelWithdrawn { label, holder } => format!("\"{label}\" from {holder}"),
            Body::Candidacy {
                label,
                candidate,
                status,
            } => format!("{candidate} for \"{label}\": {}", candidacy_word(*status)),
            Body::ProgramLaunched {
                program,
                name,
                owner,
                ..
            } => format!("{program} \"{name}\" by {owner}"),
            Body::ProgramEnded { program } => program.to_string(),
            Body::SiteOpened { org, site } | Body::SiteClosed { org, site } => {
                format!("{org} at \"{site}\"")
            }
            Body::Joined {
                org,
                member,
                relation,
            } => format!("{member} {} of {org}", relation_word(*relation)),
            Body::Left {
                org,
                member,
                relation,
            } => format!("{member} no longer {} of {org}", relation_word(*relation)),
            Body::RoleStarted { org, person, role } | Body::RoleEnded { org, person, role } => {
                format!("\"{person}\" {role} of {org}")
            }
            Body::Figures { org, values } => {
                let list: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{org} {}", list.join(" "))
            }
            Body::Milestone { summary, .. } => summary.to_string(),
            Body::Planned { planned } => format!(
                "for {}: {} {}",
                planned.date,
                planned.type_name(),
                planned.summary()
            ),
            Body::PlanAbandoned { plan } => format!("plan {}", short_hash(plan)),
            Body::Correction { target, mode, .. } => format!(
                "{} {}",
                match mode {
                    CorrectionMode::Retract => "retract",
                    CorrectionMode::Supersede => "supersede",
                },
                short_hash(target)
            ),
        }
    }
}

impl Body {
    /// The `type` string.
    pub fn type_name(&self) -> &'static str {
        match self {
            Body::Created { .. } => "created",
            Body::Transformed { .. } => "transformed",
            Body::Renamed { .. } => "renamed",
            Body::Dissolved { .. } => "dissolved",
            Body::AttributeSet { .. } => "attribute_set",
            Body::LabelGranted { .. } => "label_granted",
            Body::LabelWithdrawn { .. } => "label_withdrawn",
            Body::Candidacy { .. } => "candidacy",
            Body::ProgramLaunched { .. } => "program_launched",
            Body::ProgramEnded { .. } => "program_ended",
            Body::SiteOpened { .. } => "site_opened",
            Body::SiteClosed { .. } => "site_closed",
            Body::Joined { .. } => "joined",
            Body::Left { .. } => "left",
            Body::RoleStarted { .. } => "role_started",
            Body::RoleEnded { .. } => "role_ended",
            Body::Figures { .. } => "figures",
            Body::Milestone { .. } => "milestone",
            Body::Planned { .. } => "planned",
            Body::PlanAbandoned { .. } => "plan_abandoned",
            Body::Correction { .. } => "correction",
        }
    }
}

/// Every event type name, in the order the README documents them.
pub const TYPE_NAMES: &[&str] = &[
    "created",
    "transformed",
    "renamed",
    "dissolved",
    "attribute_set",
    "label_granted",
    "label_withdrawn",
    "candidacy",
    "program_launched",
    "program_ended",
    "site_opened",
    "site_closed",
    "joined",
    "left",
    "role_started",
    "role_ended",
    "figures",
    "milestone",
    "planned",
    "plan_abandoned",
    "correction",
];

/// The first 12 hex digits of a hash, for display.
pub fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Identifier syntax: 1–128 ASCII letters, digits and `-_.:/`, starting
/// with a letter or digit. Ids are compared exactly (case-sensitive).
pub fn check_id(id: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.:/".contains(c);
    if id.is_empty() {
        return Err("an identifier cannot be empty".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "identifier is {} bytes long; at most {MAX_ID_LEN}",
            id.len()
        ));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) || !id.chars().all(ok_char) {
        return Err(format!(
            "`{id}` is not an identifier (use ASCII letters, digits and -_.:/, starting with a letter or digit)"
        ));
    }
    Ok(())
}

/// A record hash: 64 lowercase hex digits.
pub fn check_hash(h: &str) -> Result<(), String> {
    let hex = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
    if h.len() == 64 && h.bytes().all(hex) {
        Ok(())
    } else if !h.is_empty() && h.len() < 64 && h.bytes().all(hex) {
        // The short hash `log` shows.
        Err(format!(
            "`{h}` is not a record hash (64 lowercase hex digits), only the start of one (hint: `fusion log --seq N --format json` prints record N with its whole `hash`)"
        ))
    } else {
        Err(format!(
            "`{h}` is not a record hash (64 lowercase hex digits)"
        ))
    }
}

fn non_empty(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("cannot be empty".into())
    } else {
        Ok(())
    }
}

/// The rule for an empty or blank key in `attrs` or `values`.
fn empty_key(key: &str, what: &str) -> String {
    let quoted = serde_json::to_string(key).unwrap_or_default();
    format!("a key is empty or blank (`{quoted}`); give every {what} a name")
}

fn check_spec(
    spec: &OrgSpec,
    prefix: &str,
    rule: &dyn Fn(&str, String) -> ShapeError,
) -> Result<(), ShapeError> {
    check_id(&spec.id).map_err(|r| rule(&format!("{prefix}id"), r))?;
    non_empty(&spec.name).map_err(|r| rule(&format!("{prefix}name"), r))?;
    non_empty(&spec.kind).map_err(|r| rule(&format!("{prefix}kind"), r))?;
    for (k, v) in &spec.attrs {
        non_empty(k).map_err(|_| rule(&format!("{prefix}attrs"), empty_key(k, "attribute")))?;
        non_empty(v).map_err(|r| rule(&format!("{prefix}attrs.{k}"), r))?;
    }
    Ok(())
}

/// The arity rule of a change with `f` from, `t` to and `n` new.
pub(crate) fn check_arity(mode: ChangeMode, f: usize, t: usize, n: usize) -> Result<(), String> {
    let m = mode.as_str();
    match mode {
        ChangeMode::Fusion if f < 2 || t != 1 || n != 1 => Err(format!(
            "a {m} takes two or more `from` and one new organisation in `to` and `new` (found {f} from, {t} to, {n} new); for organisations joining an existing one, with no new organisation, use `absorption`"
        )),
        ChangeMode::Absorption if f < 1 || t != 1 || n != 0 => Err(format!(
            "an {m} takes one or more `from` and one existing organisation in `to`, with no `new` (found {f} from, {t} to, {n} new)"
        )),
        ChangeMode::Split if f != 1 || t < 2 => Err(format!(
            "a {m} takes one `from` and two or more `to` (found {f} from, {t} to)"
        )),
        ChangeMode::SpinOff if f != 1 || t < 1 || n != t => Err(format!(
            "a {m} takes one `from` that continues and one or more new organisations in `to` and `new` (found {f} from, {t} to, {n} new)"
        )),
        ChangeMode::Reestablishment if f != 1 || t != 1 || n != 0 => Err(format!(
            "a {m} takes one `from` that continues and one earlier-ended organisation in `to`, with no `new` (found {f} from, {t} to, {n} new)"
        )),
        ChangeMode::IdChange if f != 1 || t != 1 || n != 0 => Err(format!(
            "an {m} takes one `from` and one new identifier in `to`, with no `new`: name and kind carry over (found {f} from, {t} to, {n} new)"
        )),
        _ => Ok(()),
    }
}

pub(crate) fn first_duplicate<'a>(
    ids: impl Iterator<Item = &'a CompactString>,
) -> Option<&'a CompactString> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().find(|id| !seen.insert(*id))
}

fn candidacy_word(s: CandidacyStatus) -> &'static str {
    match s {
        CandidacyStatus::Filed => "filed",
        CandidacyStatus::Refused => "refused",
        CandidacyStatus::Withdrawn => "withdrawn",
    }
}

fn relation_word(r: Relation) -> &'static str {
    match r {
        Relation::Member => "member",
        Relation::Partner => "partner",
    }
}

/// The JSON type of a value, for messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json appends " at line 1 column 42" to messages about values;
/// for a `Value` source that position is meaningless.
fn strip_serde_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// What JSON a member holds, for the messages of [`diagnose`].
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// An identifier string.
    Id,
    /// Any string.
    Text,
    /// An EDTF date string.
    Date,
    /// A record hash string.
    Hash,
    /// One of these strings; the first names what they are.
    OneOf(&'static str, &'static [&'static str]),
    /// A string, or `null`.
    TextOrNull,
    /// An array of identifier strings.
    Ids,
    /// An object of strings.
    Attrs,
    /// An object of non-negative integers.
    Figures,
    /// An array of source objects.
    Sources,
    /// An array of new organisation objects.
    NewOrgs,
    /// `{"org": id}` or `{"name": name}`.
    Party,
    /// A nested event object.
    Event,
}

/// Whether a member may be left out, and what `null` means there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// Must be present, not `null`.
    Required,
    /// May be left out; `null` is refused, an empty list is kept.
    Defaulted,
    /// May be left out; `null`, `{}` and `[]` are refused because the event
    /// would not serialise back the same (`skip_serializing_if`).
    Skipped,
    /// May be left out or `null` (`attribute_set`'s `value`: remove).
    Nullable,
}

/// One member of an event, a source or a new organisation.
#[derive(Debug, Clone, Copy)]
struct Member {
    name: &'static str,
    expect: Expect,
    presence: Presence,
}

const fn req(name: &'static str, expect: Expect) -> Member {
    Member {
        name,
        expect,
        presence: Presence::Required,
    }
}

const fn opt(name: &'static str, expect: Expect) -> Member {
    Member {
        name,
        expect,
        presence: Presence::Skipped,
    }
}

const CHANGE_MODES: Expect = Expect::OneOf(
    "a change mode",
    &[
        "fusion",
        "absorption",
        "split",
        "spin_off",
        "reestablishment",
        "id_change",
    ],
);
const RELATIONS: Expect = Expect::OneOf("a relation", &["member", "partner"]);
const STATUSES: Expect = Expect::OneOf("a candidacy status", &["filed", "refused", "withdrawn"]);
const CORRECTION_MODES: Expect = Expect::OneOf("a correction mode", &["retract", "supersede"]);

/// The members every event has.
const COMMON_MEMBERS: &[Member] = &[
    req("type", Expect::Text),
    req("date", Expect::Date),
    req("sources", Expect::Sources),
    opt("note", Expect::Text),
    opt("fulfils", Expect::Hash),
];

/// The members of a source citation.
const SOURCE_MEMBERS: &[Member] = &[
    req("doc", Expect::Text),
    opt("quote", Expect::Text),
    opt("url", Expect::Text),
];

/// The members of a new organisation (`created`, `transformed.new[i]`).
const ORG_MEMBERS: &[Member] = &[
    req("id", Expect::Id),
    req("name", Expect::Text),
    req("kind", Expect::Text),
    opt("attrs", Expect::Attrs),
];

/// The members an event of this type carries besides [`COMMON_MEMBERS`],
/// with the JSON each holds; `None` for an unknown type.
fn body_spec(type_name: &str) -> Option<&'static [Member]> {
    const ORG_SITE: &[Member] = &[req("org", Expect::Id), req("site", Expect::Text)];
    const ORG_PARTY: &[Member] = &[
        req("org", Expect::Id),
        req("member", Expect::Party),
        req("relation", RELATIONS),
    ];
    const ORG_ROLE: &[Member] = &[
        req("org", Expect::Id),
        req("person", Expect::Text),
        req("role", Expect::Text),
    ];
    Some(match type_name {
        "created" => ORG_MEMBERS,
        "transformed" => {
            const M: &[Member] = &[
                req("mode", CHANGE_MODES),
                req("from", Expect::Ids),
                req("to", Expect::Ids),
                opt("new", Expect::NewOrgs),
            ];
            M
        }
        "renamed" => {
            const M: &[Member] = &[req("org", Expect::Id), req("name", Expect::Text)];
            M
        }
        "dissolved" => {
            const M: &[Member] = &[req("org", Expect::Id)];
            M
        }
        "attribute_set" => {
            const M: &[Member] = &[
                req("org", Expect::Id),
                req("key", Expect::Text),
                Member {
                    name: "value",
                    expect: Expect::TextOrNull,
                    presence: Presence::Nullable,
                },
            ];
            M
        }
        "label_granted" => {
            const M: &[Member] = &[
                req("label", Expect::Text),
                req("holder", Expect::Id),
                opt("by", Expect::Text),
            ];
            M
        }
        "label_withdrawn" => {
            const M: &[Member] = &[req("label", Expect::Text), req("holder", Expect::Id)];
            M
        }
        "candidacy" => {
            const M: &[Member] = &[
                req("label", Expect::Text),
                req("candidate", Expect::Id),
                req("status", STATUSES),
            ];
            M
        }
        "program_launched" => {
            const M: &[Member] = &[
                req("program", Expect::Id),
                req("name", Expect::Text),
                req("owner", Expect::Id),
                opt("kind", Expect::Text),
            ];
            M
        }
        "program_ended" => {
            const M: &[Member] = &[req("program", Expect::Id)];
            M
        }
        "site_opened" | "site_closed" => ORG_SITE,
        "joined" | "left" => ORG_PARTY,
        "role_started" | "role_ended" => ORG_ROLE,
        "figures" => {
            const M: &[Member] = &[req("org", Expect::Id), req("values", Expect::Figures)];
            M
        }
        "milestone" => {
            const M: &[Member] = &[
                Member {
                    name: "orgs",
                    expect: Expect::Ids,
                    presence: Presence::Defaulted,
                },
                req("summary", Expect::Text),
            ];
            M
        }
        "planned" => {
            const M: &[Member] = &[req("planned", Expect::Event)];
            M
        }
        "plan_abandoned" => {
            const M: &[Member] = &[req("plan", Expect::Hash)];
            M
        }
        "correction" => {
            const M: &[Member] = &[
                req("target", Expect::Hash),
                req("mode", CORRECTION_MODES),
                opt("replacement", Expect::Event),
                req("reason", Expect::Text),
            ];
            M
        }
        _ => return None,
    })
}

/// The members an event type may hold besides the common ones, for the
/// fast reader ([`crate::fast`]) to apply the same rules.
pub(crate) struct TypeMembers(&'static [Member]);

impl TypeMembers {
    /// `None` for an unknown type.
    pub(crate) fn of(type_name: &str) -> Option<TypeMembers> {
        body_spec(type_name).map(TypeMembers)
    }

    /// Whether an event of this type may hold a member of this name
    /// (besides `type`, `date`, `sources`, `note` and `fulfils`).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|m| m.name == name)
    }
}

fn find_member(spec: &[&[Member]], key: &str) -> Option<Member> {
    spec.iter()
        .flat_map(|members| members.iter())
        .find(|m| m.name == key)
        .copied()
}

/// Whether a member of a successfully typed event is left out when the
/// event is serialised back: `null` for an optional member, `{}` or `[]`
/// for a map or list skipped when empty.
fn skipped_when_serialised(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The path of the first member of `input` (which deserialised into
/// `event`) that a typed round trip would drop: an unknown or misspelt
/// field, or `null` (or an empty map or list) where the member is optional.
/// Depth first, in the input's member order — the same answer as comparing
/// `input` with `event` serialised back, without serialising.
fn unknown_field(input: &Value, event: &Event, path: &str) -> Option<String> {
    let Value::Object(members) = input else {
        return None;
    };
    // serde takes an integer tag as a variant's index (`"type": 0` would
    // read as `created`): only the name is accepted.
    if !matches!(members.get("type"), Some(Value::String(_))) {
        return Some(join_path(path, "type"));
    }
    let own = body_spec(event.type_name()).unwrap_or_default();
    for (k, v) in members {
        let key = k.as_str();
        let Some(member) = find_member(&[COMMON_MEMBERS, own], key) else {
            return Some(join_path(path, key));
        };
        if member.presence == Presence::Skipped && skipped_when_serialised(v) {
            return Some(join_path(path, key));
        }
        let found = match (key, &event.body) {
            ("sources", _) => unknown_in_list(v, &join_path(path, key), SOURCE_MEMBERS),
            ("new", Body::Transformed { .. }) => {
                unknown_in_list(v, &join_path(path, key), ORG_MEMBERS)
            }
            ("planned", Body::Planned { planned }) => {
                unknown_field(v, planned, &join_path(path, key))
            }
            (
                "replacement",
                Body::Correction {
                    replacement: Some(replacement),
                    ..
                },
            ) => unknown_field(v, replacement, &join_path(path, key)),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// [`unknown_field`] for a list of flat objects (sources, new
/// organisations) with these members.
fn unknown_in_list(list: &Value, path: &str, spec: &[Member]) -> Option<String> {
    let Value::Array(items) = list else {
        return None;
    };
    items.iter().enumerate().find_map(|(i, item)| {
        let Value::Object(members) = item else {
            return None;
        };
        members.iter().find_map(|(k, v)| {
            let unknown = match find_member(&[spec], k) {
                None => true,
                Some(m) => m.presence == Presence::Skipped && skipped_when_serialised(v),
            };
            unknown.then(|| format!("{path}[{i}].{k}"))
        })
    })
}

/// The first thing wrong with an event's JSON, found by walking it against
/// the member tables: its path and the error that names it.
#[derive(Debug)]
struct Problem {
    /// JSON path of the offending member, e.g. `planned.date`.
    path: String,
    /// What to report.
    error: ShapeError,
}

/// An unknown member at `path` of `what` (say, "a `figures` event"), whose
/// members `spec` lists: the closest name is suggested, or else the list;
/// never one of `unsuggested`, members the object may hold but no value of
/// which a rule accepts (`fulfils` on a plan).
fn unknown_member(
    path: String,
    spec: &[&[Member]],
    what: &str,
    unsuggested: &[&str],
) -> ShapeError {
    let key = path.rsplit('.').next().unwrap_or(&path);
    let names = || {
        spec.iter()
            .flat_map(|members| members.iter())
            .map(|m| m.name)
            .filter(|n| !unsuggested.contains(n))
    };
    // The nearest name; of names as near, one of the same length (a
    // transposition, `knid` for `kind`).
    // One edit for a short key (`a` is no typo of `id`), two for others.
    let limit = (key.chars().count() / 2).clamp(1, 2);
    let closest = names()
        .filter_map(|n| {
            let d = crate::lineage::edit_distance(key, n, limit)?;
            Some((d, n.len().abs_diff(key.len()), n))
        })
        .min();
    let rule = match closest {
        _ if spec.is_empty() => "unknown field for this event type".to_owned(),
        Some((_, _, name)) => format!("unknown field for {what}; did you mean `{name}`?"),
        None => {
            let list: Vec<String> = names().map(|n| format!("`{n}`")).collect();
            format!(
                "unknown field for {what}, whose fields are {}",
                list.join(", ")
            )
        }
    };
    ShapeError::Rule { field: path, rule }
}

/// Walks an event's JSON against the member tables and returns the first
/// problem, depth first in member order (missing members after the
/// present ones): an unknown member, `null` or an empty collection where
/// an optional member belongs, a value of the wrong JSON type, a date that
/// is not EDTF, a string outside an enumeration, a missing member. Run only
/// when parsing failed, to say in words what serde says in Rust terms.
fn diagnose(event: &Value, path: &str) -> Option<Problem> {
    let Value::Object(members) = event else {
        return Some(type_problem(path, Expect::Event, event));
    };
    let type_path = join_path(path, "type");
    let all_types = || format!("`{}`", TYPE_NAMES.join("`, `"));
    let own = match members.get("type") {
        None => {
            return Some(Problem {
                error: ShapeError::Field(format!(
                    "field `{type_path}` is missing; every event has one of {}",
                    all_types()
                )),
                path: type_path,
            });
        }
        Some(Value::String(t)) => match body_spec(t) {
            Some(own) => own,
            None => {
                return Some(Problem {
                    error: ShapeError::Field(format!(
                        "field `{type_path}`: `{}` is not an event type; use one of {}",
                        clip(t),
                        all_types()
                    )),
                    path: type_path,
                });
            }
        },
        Some(other) => {
            return Some(Problem {
                error: ShapeError::Field(format!(
                    "field `{type_path}`: expected an event type string like \"created\", found {}",
                    found(other)
                )),
                path: type_path,
            });
        }
    };
    let type_name = members.get("type").and_then(Value::as_str).unwrap_or("");
    let what = format!("a `{type_name}` event");
    // The link rules refuse a `fulfils` on these (see `fold::check_links`).
    let unsuggested: &[&str] = match type_name {
        "planned" | "correction" | "plan_abandoned" => &["fulfils"],
        _ => &[],
    };
    diagnose_members(members, &[COMMON_MEMBERS, own], path, &what, unsuggested)
}

/// [`diagnose`] for the members of one object described by `spec`;
/// `what` names the object in the message for a missing member.
fn diagnose_members(
    members: &serde_json::Map<String, Value>,
    spec: &[&[Member]],
    path: &str,
    what: &str,
    unsuggested: &[&str],
) -> Option<Problem> {
    for (k, v) in members {
        let p = join_path(path, k);
        let Some(member) = find_member(spec, k) else {
            return Some(Problem {
                error: unknown_member(p.clone(), spec, what, unsuggested),
                path: p,
            });
        };
        if member.name == "type" {
            continue; // an event's type: checked by `diagnose`
        }
        let optional_empty = |how: &str| Problem {
            error: ShapeError::Field(format!(
                "field `{p}` is {how}; omit an optional field instead of writing it empty"
            )),
            path: p.clone(),
        };
        match (member.presence, v) {
            (Presence::Nullable, Value::Null) => continue,
            (Presence::Defaulted | Presence::Skipped, Value::Null) => {
                return Some(Problem {
                    error: ShapeError::Field(format!(
                        "field `{p}` is null; omit an optional field instead of writing null"
                    )),
                    path: p,
                });
            }
            (Presence::Skipped, Value::Object(m)) if m.is_empty() => {
                return Some(optional_empty("an empty object"));
            }
            (Presence::Skipped, Value::Array(a)) if a.is_empty() => {
                return Some(optional_empty("an empty array"));
            }
            _ => {}
        }
        if let Some(problem) = diagnose_value(member.expect, v, &p) {
            return Some(problem);
        }
    }
    let missing: Vec<&str> = spec
        .iter()
        .flat_map(|members| members.iter())
        .filter(|m| m.presence == Presence::Required)
        .map(|m| m.name)
        .collect();
    let absent = missing.iter().find(|name| !members.contains_key(**name))?;
    let p = join_path(path, absent);
    Some(Problem {
        error: ShapeError::Field(format!(
            "field `{p}` is missing; {what} needs `{}`",
            missing.join("`, `")
        )),
        path: p,
    })
}

/// [`diagnose`] for one member's value at `path`.
fn diagnose_value(expect: Expect, v: &Value, path: &str) -> Option<Problem> {
    let field = |message: String| {
        Some(Problem {
            path: path.to_owned(),
            error: ShapeError::Field(message),
        })
    };
    match (expect, v) {
        (Expect::Id | Expect::Text | Expect::Hash, Value::String(_))
        | (Expect::TextOrNull, Value::String(_) | Value::Null) => None,
        (Expect::Date, Value::String(s)) => match Date::parse(s) {
            Ok(_) => None,
            Err(e) => field(format!(
                "field `{path}`: {e}; write an EDTF date such as \"2015\", \"2015-05\", \"2015-05-12\" or \"2015-05~\""
            )),
        },
        (Expect::OneOf(what, names), Value::String(s)) => {
            if names.contains(&s.as_str()) {
                None
            } else {
                field(format!(
                    "field `{path}`: `{}` is not {what}; use one of `{}`",
                    clip(s),
                    names.join("`, `")
                ))
            }
        }
        (Expect::Ids, Value::Array(items)) => {
            items.iter().enumerate().find_map(|(i, item)| {
                diagnose_value(Expect::Id, item, &format!("{path}[{i}]"))
            })
        }
        (Expect::Attrs, Value::Object(m)) => m.iter().find_map(|(k, item)| {
            let p = join_path(path, k);
            match item {
                Value::String(_) => None,
                Value::Null => Some(Problem {
                    error: ShapeError::Field(format!(
                        "field `{p}`: expected a string, found null; omit the attribute instead of writing null"
                    )),
                    path: p,
                }),
                _ => diagnose_value(Expect::Text, item, &p),
            }
        }),
        (Expect::Figures, Value::Object(m)) => m.iter().find_map(|(k, item)| {
            let p = join_path(path, k);
            item.as_u64().is_none().then(|| Problem {
                error: ShapeError::Field(format!(
                    "field `{p}`: expected a non-negative integer (figures are counts), found {}{}",
                    found(item),
                    plain_integer_hint(item)
                )),
                path: p,
            })
        }),
        (Expect::Sources, Value::Array(items)) => {
            items.iter().enumerate().find_map(|(i, item)| {
                let p = format!("{path}[{i}]");
                match item {
                    Value::Object(m) => diagnose_members(m, &[SOURCE_MEMBERS], &p, "a source", &[]),
                    _ => Some(type_problem(&p, Expect::Sources, item)),
                }
            })
        }
        (Expect::NewOrgs, Value::Array(items)) => {
            items.iter().enumerate().find_map(|(i, item)| {
                let p = format!("{path}[{i}]");
                match item {
                    Value::Object(m) => {
                        diagnose_members(m, &[ORG_MEMBERS], &p, "a new organisation", &[])
                    }
                    _ => Some(type_problem(&p, Expect::NewOrgs, item)),
                }
            })
        }
        (Expect::Party, Value::Object(m)) if m.len() == 1 => {
            let (k, item) = m.iter().next()?;
            match k.as_str() {
                "org" => diagnose_value(Expect::Id, item, &join_path(path, k)),
                "name" => diagnose_value(Expect::Text, item, &join_path(path, k)),
                _ => Some(type_problem(path, expect, v)),
            }
        }
        (Expect::Event, Value::Object(_)) => diagnose(v, path),
        _ => Some(type_problem(path, expect, v)),
    }
}

/// "field `p`: expected …, found …", with a hint for a number or boolean
/// written where a string belongs.
fn type_problem(path: &str, expect: Expect, v: &Value) -> Problem {
    let expected = match expect {
        Expect::Id => "an identifier string like \"clustr\"",
        Expect::Text => "a string",
        Expect::Date => "an EDTF date string like \"2015-05\"",
        Expect::Hash => "a record hash string (64 lowercase hex digits)",
        Expect::OneOf(what, _) => what,
        Expect::TextOrNull => "a string, or null to remove the attribute",
        Expect::Ids => "an array of identifier strings like [\"edit\", \"grilog\"]",
        Expect::Attrs => "an object of strings like {\"seat\": \"Lyon\"}",
        Expect::Figures => "an object of non-negative integers like {\"members\": 120}",
        // At `sources`, or at `sources[i]` when the array holds something else.
        Expect::Sources => "a source object like {\"doc\": \"…\", \"quote\": \"…\"}",
        Expect::NewOrgs => {
            "an organisation object like {\"id\": \"…\", \"name\": \"…\", \"kind\": \"…\"}"
        }
        Expect::Party => {
            "{\"org\": \"<id>\"} for an organisation of the ledger or {\"name\": \"<name>\"} for anyone else"
        }
        Expect::Event => "an event object",
    };
    let expected = match (expect, v) {
        (Expect::Sources, Value::Array(_)) | (Expect::NewOrgs, Value::Array(_)) => {
            expected.to_owned()
        }
        (Expect::Sources, _) => "an array of sources like [{\"doc\": \"…\"}]".to_owned(),
        (Expect::NewOrgs, _) => {
            "an array of new organisations like [{\"id\": \"…\", \"name\": \"…\", \"kind\": \"…\"}]"
                .to_owned()
        }
        (Expect::OneOf(what, names), _) => {
            format!("{what} string, one of `{}`", names.join("`, `"))
        }
        _ => expected.to_owned(),
    };
    let hint = match (expect, v) {
        // A float may not be what was written (`1e+29` for 29 digits):
        // quoting that would change the text.
        (Expect::Id | Expect::Text | Expect::Date | Expect::TextOrNull, Value::Number(n))
            if n.is_f64() =>
        {
            "; write it in quotes, as its digits were written".to_owned()
        }
        (
            Expect::Id | Expect::Text | Expect::Date | Expect::TextOrNull,
            Value::Number(_) | Value::Bool(_),
        ) => format!("; write it in quotes: \"{v}\""),
        _ => String::new(),
    };
    Problem {
        path: path.to_owned(),
        error: ShapeError::Field(format!(
            "field `{path}`: expected {expected}, found {}{hint}",
            found(v)
        )),
    }
}

/// For a whole number JSON reads as a float (written `1e3` or `1000.0`,
/// which a message can only quote as read, `1000.0`), how to write it as
/// the count it is.
fn plain_integer_hint(v: &Value) -> String {
    match v.as_f64() {
        // `-0` reads as a float: JSON's integers carry no negative zero.
        Some(f) if v.is_f64() && f == 0.0 && f.is_sign_negative() => {
            " (a negative zero, which JSON reads as a float); write it as 0".to_owned()
        }
        // Within 2^53, a float with no fraction is an integer exactly.
        Some(f)
            if v.is_f64() && f.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&f) =>
        {
            format!(
                " (written with a fraction or an exponent); write it as the plain integer {f:.0}"
            )
        }
        // Digits past u64 read as a float, which a message can only quote
        // rounded.
        Some(f) if v.is_f64() && f >= 9_007_199_254_740_992.0 => {
            " (a whole number past 2^53-1, which JSON cannot carry exactly; as read, rounded)"
                .to_owned()
        }
        _ => String::new(),
    }
}

/// A JSON value as a message names it: `the integer `2008``.
fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("the number `{n}`"),
        Value::Number(n) => format!("the integer `{n}`"),
        Value::String(s) => format!(
            "the string `{}`",
            serde_json::to_string(&clip(s)).unwrap_or_default()
        ),
        Value::Array(a) if a.is_empty() => "an empty array".into(),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(m) if m.is_empty() => "an empty object".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// At most 60 characters of a quoted input string.
fn clip(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The path of the first member of `input` that did not survive a typed
/// round trip (`back`): an unknown or misspelt field. The reference that
/// [`unknown_field`] is tested against.
#[cfg(test)]
fn first_unknown_field(input: &Value, back: &Value, path: String) -> Option<String> {
    match (input, back) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(k, v)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match b.get(k) {
                None => Some(p),
                Some(bv) => first_unknown_field(v, bv, p),
            }
        }),
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b.iter())
            .enumerate()
            .find_map(|(i, (x, y))| first_unknown_field(x, y, format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Why a batch of events (one JSON event, or JSON Lines) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {index} (line {line}): {error}")]
pub struct BatchError {
    /// 1-based position of the event in the batch.
    pub index: usize,
    /// 1-based line where the event starts.
    pub line: usize,
    /// What is wrong with it.
    pub error: ShapeError,
}

/// Parses a batch: one JSON event, several concatenated, or JSON Lines
/// (blank lines allowed). Each event is shape-checked; the first problem is
/// returned with the event's position and line.
pub fn parse_batch(text: &str) -> Result<Vec<Event>, BatchError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads > 1
        && text.len() >= PARALLEL_BATCH_BYTES
        && let Some(events) = parse_lines(text, threads)
    {
        return Ok(events);
    }
    parse_stream(text)
}

/// A name or label as compared loosely: lower case, white space at the
/// ends left out and every run of it inside one space (`" Beds "`,
/// `"BEDS"` and `"beds"` are one).
pub fn loose(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `a` and `b` are one name as [`loose`] compares them
/// (`loose(a) == loose(b)`), without building either form: word by word,
/// ASCII words without allocating.
pub fn loose_eq(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (a.split_whitespace(), b.split_whitespace());
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) => {
                let same = if p.is_ascii() && q.is_ascii() {
                    p.eq_ignore_ascii_case(q)
                } else {
                    // `str::to_lowercase`, as `loose`: a final sigma is
                    // lowered as such.
                    p.to_lowercase() == q.to_lowercase()
                };
                if !same {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The longest an event to append may be, as JSON text in the batch. Its
/// canonical form is at most a few dozen bytes longer: strings are never
/// escaped more than JSON requires, numbers are integers, and only the
/// members written out when left out (`"orgs":[]`, `"value":null`, at each
/// level of a plan or a replacement) add bytes. With the record's envelope
/// (about 230 bytes) that stays within the 1 KiB left, so every line
/// `append` writes is at most [`crate::record::MAX_LINE_BYTES`] (and
/// `store` refuses to write one that is not).
pub const MAX_EVENT_BYTES: usize = crate::record::MAX_LINE_BYTES - 1024;

/// The error for an event of `bytes` bytes, over [`MAX_EVENT_BYTES`].
fn too_long(bytes: usize) -> ShapeError {
    ShapeError::Field(format!(
        "the event is {bytes} bytes of JSON; an event is at most {MAX_EVENT_BYTES} bytes, so that its record stays within the {} bytes a ledger line may hold (hint: keep long texts in the cited documents, not in the ledger)",
        crate::record::MAX_LINE_BYTES
    ))
}

/// Batches from this size up are first read as JSON Lines on several
/// threads.
const PARALLEL_BATCH_BYTES: usize = 1 << 16;

/// Reads `text` as JSON Lines on `threads` threads, each line (apart from
/// blank ones) one whole event: what [`parse_stream`] reads from such text.
/// `None` as soon as a line is not a whole valid event, or starts with a
/// byte-order mark: then [`parse_stream`] decides, and words the error.
fn parse_lines(text: &str, threads: usize) -> Option<Vec<Event>> {
    if text.starts_with('\u{feff}') {
        return None;
    }
    // Chunks of about the same size, cut after a newline.
    let mut chunks = Vec::with_capacity(threads);
    let mut rest = text;
    for t in (1..=threads).rev() {
        let cut = if t == 1 {
            rest.len()
        } else {
            let at = rest.len() / t;
            rest.as_bytes()
                .get(at..)
                .and_then(|b| b.iter().position(|&c| c == b'\n'))
                .map_or(rest.len(), |i| at + i + 1)
        };
        let (chunk, tail) = rest.split_at(cut);
        chunks.push(chunk);
        rest = tail;
    }
    // The first chunk's events are the start of the result: room for all.
    let parse = |chunk: &str, room: usize| -> Option<Vec<Event>> {
        let mut events = Vec::with_capacity(room / 256);
        for line in chunk.split('\n') {
            // What the stream reader skips between values.
            if line.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                continue;
            }
            if line.len() > MAX_EVENT_BYTES {
                return None;
            }
            // The direct reader first; it hands over anything it doubts.
            let event = match crate::fast::event(line) {
                Some(event) => event,
                None => Event::from_json(&crate::json::from_str(line).ok()?).ok()?,
            };
            events.push(event);
        }
        Some(events)
    };
    let parts: Vec<Option<Vec<Event>>> = std::thread::scope(|s| {
        let workers: Vec<_> = chunks
            .iter()
            .skip(1)
            .map(|&chunk| s.spawn(move || parse(chunk, chunk.len())))
            .collect();
        let first = chunks.first().and_then(|&c| parse(c, text.len()));
        std::iter::once(first)
            .chain(workers.into_iter().map(|w| w.join().ok().flatten()))
            .collect()
    });
    let mut parts = parts.into_iter();
    let mut events = parts.next()??;
    for part in parts {
        events.extend(part?);
    }
    Some(events)
}

/// The line of `text` on which event `index` (0-based) of the batch
/// [`parse_batch`] read from it starts: for errors that name a batch event
/// once the whole batch was read (its events are the JSON values of the
/// text, in order). `None` past the last event.
pub fn batch_line(text: &str, index: usize) -> Option<usize> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    for _ in 0..index {
        stream.next()?.ok()?;
    }
    let start = stream.byte_offset();
    stream.next()?.ok()?;
    let rest = text.get(start..)?;
    let skipped = rest.len() - rest.trim_start().len();
    Some(text.get(..start + skipped)?.matches('\n').count() + 1)
}

/// [`parse_batch`] on one thread, reading a stream of JSON values.
fn parse_stream(text: &str) -> Result<Vec<Event>, BatchError> {
    let mut events = Vec::new();
    if text.starts_with('\u{feff}') {
        return Err(BatchError {
            index: 1,
            line: 1,
            error: ShapeError::Json(
                "the input starts with a byte-order mark (U+FEFF); write UTF-8 without one".into(),
            ),
        });
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<crate::json::Strict>();
    loop {
        let start = stream.byte_offset();
        let line_of = |offset: usize| {
            let skipped = text[offset..].len() - text[offset..].trim_start().len();
            text[..offset + skipped].matches('\n').count() + 1
        };
        let index = events.len() + 1;
        match stream.next() {
            None => break,
            Some(Err(e)) => {
                let line = line_of(start);
                return Err(BatchError {
                    index,
                    line,
                    error: ShapeError::Json(syntax_message(text, line, &e)),
                });
            }
            Some(Ok(crate::json::Strict(value))) => {
                let bytes = text
                    .get(start..stream.byte_offset())
                    .map_or(0, |t| t.trim_start().len());
                if bytes > MAX_EVENT_BYTES {
                    return Err(BatchError {
                        index,
                        line: line_of(start),
                        error: too_long(bytes),
                    });
                }
                let event = Event::from_json(&value).map_err(|error| BatchError {
                    index,
                    line: line_of(start),
                    error,
                })?;
                events.push(event);
            }
        }
    }
    Ok(events)
}

/// The message of a JSON syntax error in a batch whose event starts on
/// `line`: what serde expected, what it found and where, and a hint when
/// the event runs past its line or the input ends inside it.
fn syntax_message(text: &str, line: usize, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let mut message = strip_serde_position(&e.to_string());
    match e.classify() {
        Category::Eof => {
            message.push_str(
                " (hint: the input ends inside this event; a `{`, `[` or `\"` is not closed)",
            );
            return message;
        }
        Category::Syntax => {}
        // Not the grammar (a member named twice, say): where, not what.
        Category::Data | Category::Io => {
            let _ = write!(message, " (at line {}, column {})", e.line(), e.column());
            return message;
        }
    }
    // serde's line is 1-based, its column a 1-based byte offset in the line;
    // column 0 is the newline that ends the line before.
    if e.column() == 0 {
        let _ = write!(
            message,
            ", found U+000A at the end of line {}",
            e.line().saturating_sub(1).max(1)
        );
        return message;
    }
    let found = text
        .split_inclusive('\n')
        .nth(e.line().saturating_sub(1))
        .and_then(|l| l.get(e.column().saturating_sub(1)..))
        .and_then(|rest| rest.chars().next());
    let escape = escape_note(text, e);
    match found {
        // An escape is quoted whole (`\ud800`), after the position, not by
        // the byte serde stopped at.
        Some(_) if !escape.is_empty() => {}
        Some(c) if c.is_control() || c.is_whitespace() => {
            let _ = write!(message, ", found U+{:04X}", u32::from(c));
        }
        Some(c) => match number_around(text, e.line(), e.column()) {
            // The column is a number's last byte (`number out of range`):
            // the number whole says more than its last digit.
            Some(number) if number.len() > 1 => {
                let _ = write!(message, ", found `{number}`");
            }
            _ => {
                let _ = write!(message, ", found `{c}`");
            }
        },
        None => {}
    }
    let _ = write!(message, " at line {}, column {}", e.line(), e.column());
    message.push_str(&escape);
    if e.line() > line {
        let _ = write!(
            message,
            " (hint: the event that starts on line {line} is not closed there and runs into the next line; check line {line} for a missing `}}` or `]`)"
        );
    }
    message
}

/// The `\\uXXXX` escape (with the one right after it, if any) that serde's
/// `line` and `column` (both 1-based) point into or just past, for an
/// error about an escape: the escape as written says more than the byte
/// serde stopped at.
fn escape_around(text: &str, line: usize, column: usize) -> Option<&str> {
    let l = text.split_inclusive('\n').nth(line.checked_sub(1)?)?;
    let b = l.as_bytes();
    let at = column.saturating_sub(1).min(b.len());
    // The nearest `\u` that starts at most 12 bytes back.
    let start = (at.saturating_sub(12)..=at)
        .rev()
        .find(|&i| b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u'))?;
    let hex = |i: usize| {
        b.get(i..i + 6)
            .filter(|e| e[0] == b'\\' && e[1] == b'u' && e[2..].iter().all(u8::is_ascii_hexdigit))
    };
    // A high surrogate just before: the pair is what went wrong.
    let start = match start.checked_sub(6).and_then(hex) {
        Some(e) if is_high_surrogate(e) => start - 6,
        _ => start,
    };
    let end = match (hex(start), hex(start + 6)) {
        (Some(_), Some(_)) => start + 12,
        (Some(_), None) => start + 6,
        _ => (start + 6).min(b.len()),
    };
    l.get(start..end)
}

const LONE_SURROGATE_HINT: &str = " (hint: a `\\uD800`–`\\uDFFF` escape is half of a surrogate pair and must be followed by the other half, a high one then a low one, as in `\\ud83d\\ude00`; alone it is no Unicode character, and a ledger holds only valid Unicode)";

/// For a JSON error of serde about an escape, at its `line` and `column`
/// in `text`: the escape as written, with a hint when it is a lone
/// surrogate (`in `\\ud800` (hint: …)`); empty for other errors.
pub(crate) fn escape_note(text: &str, e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message
        .contains("escape")
        .then(|| escape_around(text, e.line(), e.column()))
        .flatten()
    {
        Some(escape) if is_lone_surrogate(escape) => format!(" in `{escape}`{LONE_SURROGATE_HINT}"),
        Some(escape) => format!(" in `{escape}`"),
        None => String::new(),
    }
}

/// Whether an escape (from [`escape_around`]) is a surrogate one
/// (`\\uD800`–`\\uDFFF`, any case) not followed by its pair: serde words
/// such an escape as a hex escape cut short or a lone surrogate.
fn is_lone_surrogate(escape: &str) -> bool {
    let b = escape.as_bytes();
    match b.get(6..) {
        Some(next) if next.len() >= 6 => {
            is_surrogate(b)
                && !(is_high_surrogate(b) && is_surrogate(next) && !is_high_surrogate(next))
        }
        _ => is_surrogate(b),
    }
}

/// Whether the `\\uXXXX` escape at the start of `e` is a surrogate one
/// (`\\uD800`–`\\uDFFF`, any case).
fn is_surrogate(e: &[u8]) -> bool {
    e.len() >= 6
        && e[2].eq_ignore_ascii_case(&b'd')
        && matches!(e[3].to_ascii_lowercase(), b'8'..=b'f')
}

/// Whether it is a high (leading) surrogate, `\\uD800`–`\\uDBFF`.
fn is_high_surrogate(e: &[u8]) -> bool {
    is_surrogate(e) && matches!(e[3].to_ascii_lowercase(), b'8'..=b'b')
}

/// The run of number bytes (digits, `-`, `+`, `.`, `e`, `E`) around the
/// byte at serde's `line` (1-based) and `column` (1-based), if that byte
/// is a digit.
fn number_around(text: &str, line: usize, column: usize) -> Option<&str> {
    let l = text.split_inclusive('\n').nth(line.checked_sub(1)?)?;
    let at = column.checked_sub(1)?;
    if !l.as_bytes().get(at)?.is_ascii_digit() {
        return None;
    }
    let part = |b: &u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E');
    let bytes = l.as_bytes();
    let start = bytes[..at]
        .iter()
        .rposition(|b| !part(b))
        .map_or(0, |i| i + 1);
    let end = bytes[at..]
        .iter()
        .position(|b| !part(b))
        .map_or(bytes.len(), |i| at + i);
    // Cut at ASCII bytes, so at character boundaries.
    l.get(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn loose_eq_is_equality_of_the_loose_forms() {
        // Given pairs that differ by case, white space, final sigma, dotted
        // capitals or letters
        let words = [
            "beds",
            "Beds",
            " beds ",
            "BEDS",
            "b eds",
            "bed s",
            "beds\t",
            "be\u{a0}ds",
            "ΟΔΟΣ",
            "οδος",
            "οδοσ",
            "οδός",
            "İstanbul",
            "i̇stanbul",
            "istanbul",
            "ß",
            "SS",
            "",
            " ",
            "a  b",
            "a b",
            "A\nB",
            "ab",
        ];
        for a in words {
            for b in words {
                // when compared, then loose_eq says what the loose forms say
                assert_eq!(loose_eq(a, b), loose(a) == loose(b), "{a:?} {b:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn loose_eq_agrees_with_loose(a in "[ aAbBσΣς\u{130}i\t]{0,8}", b in "[ aAbBσΣς\u{130}i\t]{0,8}") {
            proptest::prop_assert_eq!(loose_eq(&a, &b), loose(&a) == loose(&b));
            proptest::prop_assert!(loose_eq(&a, &a));
        }
    }

    fn src() -> Value {
        json!([{"doc": "test"}])
    }

    #[test]
    fn a_bad_escape_is_quoted_whole_and_a_lone_surrogate_is_named() {
        let error = |name: &str| {
            let text = format!(
                r#"{{"type":"created","date":"2000","id":"a","name":"{name}","kind":"k","sources":[{{"doc":"d"}}]}}"#
            );
            parse_batch(&text).expect_err("refused").to_string()
        };
        let hint = LONE_SURROGATE_HINT;
        // Given a high surrogate alone, a low one alone, a high one followed
        // by no low one: each is quoted as written, with the hint
        assert_eq!(
            error(r"\ud800"),
            format!(
                "event 1 (line 1): not a JSON event object: unexpected end of hex escape at line 1, column 56 in `\\ud800`{hint}"
            )
        );
        assert_eq!(
            error(r"\uDC00"),
            format!(
                "event 1 (line 1): not a JSON event object: lone leading surrogate in hex escape at line 1, column 55 in `\\uDC00`{hint}"
            )
        );
        assert_eq!(
            error(r"x\ud800\u0041"),
            format!(
                "event 1 (line 1): not a JSON event object: lone leading surrogate in hex escape at line 1, column 62 in `\\ud800\\u0041`{hint}"
            )
        );
        // Given an escape that is not hexadecimal: quoted, with no hint
        assert_eq!(
            error(r"\u00zz"),
            "event 1 (line 1): not a JSON event object: invalid escape at line 1, column 55 in `\\u00zz`"
        );
        // Given a pair: no error
        let pair = r#"{"type":"created","date":"2000","id":"a","name":"\ud83d\ude00","kind":"k","sources":[{"doc":"d"}]}"#;
        assert!(parse_batch(pair).is_ok());
        assert!(!is_lone_surrogate(r"\ud83d\ude00"));
        assert!(is_lone_surrogate(r"\ude00\ud83d"));
    }

    #[test]
    fn a_syntax_error_names_the_event_s_first_line_and_where_it_was_found() {
        let good = r#"{"type":"dissolved","date":"2008","org":"a","sources":[{"doc":"d"}]}"#;
        let open = r#"{"type":"dissolved","date":"2008","org":"a","sources":[{"doc":"d"}]"#;
        let error = |text: String| parse_batch(&text).expect_err("refused").to_string();
        // given an event left open on line 2 of JSON Lines
        assert_eq!(
            error(format!("{good}\n{open}\n{good}\n")),
            "event 2 (line 2): not a JSON event object: expected `,` or `}`, found `{` at line 3, column 1 \
             (hint: the event that starts on line 2 is not closed there and runs into the next line; \
             check line 2 for a missing `}` or `]`)"
        );
        // given a stray byte after an event
        assert_eq!(
            error(format!("{good}\u{0}\n")),
            "event 2 (line 1): not a JSON event object: expected value, found U+0000 at line 1, column 69"
        );
        // given a raw newline inside a string: serde stops at the newline
        assert_eq!(
            error("{\"type\":\"dissolved\",\"org\":\"a\nb\"}".to_owned()),
            "event 1 (line 1): not a JSON event object: control character (\\u0000-\\u001F) found while parsing a string, \
             found U+000A at the end of line 1"
        );
        // given a member named twice: no grammar error, so no character found
        assert_eq!(
            error("{\"type\":\"dissolved\",\"type\":\"renamed\"}".to_owned()),
            "event 1 (line 1): not a JSON event object: duplicate member `type` in an object; \
             each name may appear once (at line 1, column 26)"
        );
        // given a number too large for a float: the number is quoted whole,
        // not the digit serde stops at
        assert_eq!(
            error(r#"{"type":"figures","values":{"m":1e400},"n":-2.5E+999}"#.to_owned()),
            "event 1 (line 1): not a JSON event object: number out of range, found `1e400` at line 1, column 37"
        );
        // given a stray digit after a value: the digit alone
        assert_eq!(
            error(r#"{"type":"x" 7}"#.to_owned()),
            "event 1 (line 1): not a JSON event object: expected `,` or `}`, found `7` at line 1, column 13"
        );
        // given input that ends inside an event
        assert_eq!(
            error("\n\n{\"type\":\n".to_owned()),
            "event 1 (line 3): not a JSON event object: EOF while parsing a value \
             (hint: the input ends inside this event; a `{`, `[` or `\"` is not closed)"
        );
    }

    #[test]
    fn an_integer_type_is_refused_not_read_as_a_variant_index() {
        let top = json!({"type": 0, "date": "2008", "id": "x", "name": "X", "kind": "k", "sources": src()});
        let e = Event::from_json(&top).expect_err("an integer is not a type name");
        assert_eq!(
            e.to_string(),
            "field `type`: expected an event type string like \"created\", found the integer `0`"
        );
        let nested = json!({"type": "planned", "date": "2008", "planned": {"type": 1, "date": "2009", "org": "x", "sources": src()}, "sources": src()});
        let e = Event::from_json(&nested).expect_err("nested too");
        assert!(
            e.to_string()
                .starts_with("field `planned.type`: expected an event type string"),
            "{e}"
        );
    }

    #[test]
    fn parses_a_creation_and_serialises_it_back_identically() {
        let v = json!({"type": "created", "date": "2008", "id": "edit", "name": "Edit", "kind": "cluster",
                       "attrs": {"seat": "Lyon"}, "sources": src()});
        let e = Event::from_json(&v).expect("valid");
        assert_eq!(e.type_name(), "created");
        assert_eq!(e.to_json(), v);
    }

    #[test]
    fn an_unknown_field_is_named_where_it_is_with_the_closest_name_or_the_list() {
        let refusal = |v: Value| Event::from_json(&v).expect_err("unknown field").to_string();
        // in a source
        let v = json!({"type": "dissolved", "date": "2008", "org": "a", "sources": [{"doc": "d", "qoute": "q"}]});
        assert!(refusal(v).ends_with(
            "field `sources[0].qoute`: unknown field for a source; did you mean `quote`?"
        ),);
        // in a new organisation
        let v = json!({"type": "transformed", "mode": "spin_off", "date": "2008", "from": ["a"], "to": ["b"],
                       "new": [{"id": "b", "name": "B", "kind": "k", "atrs": {}}], "sources": src()});
        assert!(
            refusal(v).ends_with("unknown field for a new organisation; did you mean `attrs`?")
        );
        // nothing close: the fields of the type
        let v =
            json!({"type": "dissolved", "date": "2008", "org": "a", "zzzzz": 1, "sources": src()});
        assert!(
            refusal(v).ends_with(
                "field `zzzzz`: unknown field for a `dissolved` event, whose fields are `type`, `date`, `sources`, `note`, `fulfils`, `org`"
            ),
        );
        // `fulfils` is close, but no plan, correction or abandonment can
        // carry one: not offered, nor listed.
        let fulfills = |v: serde_json::Value| refusal(v);
        assert!(
            fulfills(json!({"type": "dissolved", "date": "2008", "org": "a", "fulfills": "x", "sources": src()}))
                .ends_with("did you mean `fulfils`?")
        );
        let plan = json!({"type": "planned", "date": "2008", "fulfills": "x", "sources": src(),
                          "planned": {"type": "dissolved", "date": "2009", "org": "a", "sources": src()}});
        let abandoned = json!({"type": "plan_abandoned", "date": "2008", "plan": "0".repeat(64), "fulfills": "x", "sources": src()});
        for v in [plan, abandoned] {
            let refused = fulfills(v);
            assert!(
                refused.contains("field `fulfills`: unknown field for a `")
                    && !refused.contains("`fulfils`"),
                "{refused}"
            );
        }
    }

    /// Given the short hash `log` shows where a record hash is needed, the
    /// error says it is the start of one and where to find the whole.
    #[test]
    fn a_short_hash_is_named_as_the_start_of_one() {
        assert!(check_hash(&"a".repeat(64)).is_ok());
        let short = check_hash("0a1b2c3d4e5f").expect_err("short");
        assert!(
            short.contains("only the start of one")
                && short.contains("`fusion log --seq N --format json`"),
            "{short}"
        );
        for bad in ["xyz", "", &"A".repeat(64), &"a".repeat(65)] {
            let err = check_hash(bad).expect_err("not a hash");
            assert!(!err.contains("start of one"), "{err}");
        }
    }

    #[test]
    fn a_batch_event_is_found_by_the_line_it_starts_on() {
        let text = "\n{\"a\":\n 1}\n\n  {\"b\":2}\r\n{\"c\":3}";
        let lines: Vec<Option<usize>> = (0..4).map(|i| batch_line(text, i)).collect();
        assert_eq!(lines, [Some(2), Some(5), Some(6), None]);
    }

    #[test]
    fn refuses_unknown_fields_with_their_path() {
        let v = json!({"type": "renamed", "date": "2008", "org": "a", "name": "B", "nmae": "x", "sources": src()});
        assert_eq!(
            Event::from_json(&v).expect_err("unknown field"),
            ShapeError::Rule {
                field: "nmae".into(),
                rule: "unknown field for a `renamed` event; did you mean `name`?".into()
            }
        );
        let v = json!({"type": "renamed", "date": "2008", "org": "a", "name": "B", "sources": [{"doc": "d", "qoute": "x"}]});
        assert!(
            matches!(Event::from_json(&v), Err(ShapeError::Rule { field, .. }) if field == "sources[0].qoute")
        );
    }

    #[test]
    fn refuses_missing_sources_bad_ids_and_arity() {
        let no_src = json!({"type": "dissolved", "date": "2008", "org": "a", "sources": []});
        assert!(
            matches!(Event::from_json(&no_src), Err(ShapeError::Rule { field, .. }) if field == "sources")
        );
        let bad_id = json!({"type": "dissolved", "date": "2008", "org": "a b", "sources": src()});
        assert!(
            matches!(Event::from_json(&bad_id), Err(ShapeError::Rule { field, .. }) if field == "org")
        );
        let twice = |mode: &str, from: Value, to: Value| {
            let v = json!({"type": "transformed", "mode": mode, "date": "2008", "from": from, "to": to,
                           "new": [{"id": "c", "name": "C", "kind": "k"}], "sources": src()});
            match Event::from_json(&v) {
                Err(ShapeError::Rule { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(twice("fusion", json!(["a", "a"]), json!(["c"])), "from");
        assert_eq!(twice("split", json!(["a"]), json!(["c", "a"])), "to");
        let lone_fusion = json!({"type": "transformed", "mode": "fusion", "date": "2008", "from": ["a"], "to": ["b"],
                                 "new": [{"id": "b", "name": "B", "kind": "k"}], "sources": src()});
        assert!(
            matches!(Event::from_json(&lone_fusion), Err(ShapeError::Rule { field, .. }) if field == "mode")
        );
    }

    #[test]
    fn refuses_floats_and_unsafe_integers_in_figures() {
        let float = json!({"type": "figures", "date": "2016", "org": "a", "values": {"members": 1.5}, "sources": src()});
        assert!(matches!(
            Event::from_json(&float),
            Err(ShapeError::Field(_))
        ));
        let huge = json!({"type": "figures", "date": "2016", "org": "a", "values": {"members": 9007199254740992_u64}, "sources": src()});
        assert!(
            matches!(Event::from_json(&huge), Err(ShapeError::Rule { field, .. }) if field == "values.members")
        );
    }

    #[test]
    fn joining_and_leaving_read_differently() {
        let joined = json!({"type": "joined", "date": "2016", "org": "fed", "member": {"org": "a"}, "relation": "member", "sources": src()});
        let mut left = joined.clone();
        left["type"] = json!("left");
        let summary = |v: &Value| Event::from_json(v).expect("valid").summary();
        assert_eq!(summary(&joined), "a member of fed");
        assert_eq!(summary(&left), "a no longer member of fed");
    }

    #[test]
    fn plans_and_corrections_nest_one_level() {
        let plan = json!({"type": "planned", "date": "2016-06", "sources": src(),
                          "planned": {"type": "dissolved", "date": "2017-01-01", "org": "a", "sources": src()}});
        let e = Event::from_json(&plan).expect("valid plan");
        assert_eq!(e.summary(), "for 2017-01-01: dissolved a");
        let plan_of_plan =
            json!({"type": "planned", "date": "2016", "sources": src(), "planned": plan});
        assert!(
            matches!(Event::from_json(&plan_of_plan), Err(ShapeError::Rule { field, .. }) if field == "planned.type")
        );
        let retract_with_replacement = json!({"type": "correction", "date": "2017", "sources": src(), "target": "0".repeat(64),
            "mode": "retract", "reason": "wrong", "replacement": {"type": "dissolved", "date": "2017", "org": "a", "sources": src()}});
        assert!(
            matches!(Event::from_json(&retract_with_replacement), Err(ShapeError::Rule { field, .. }) if field == "replacement")
        );
    }

    #[test]
    fn a_batch_is_one_event_or_json_lines_and_errors_name_the_line() {
        let one = "{\"type\": \"dissolved\",\n \"date\": \"2008\", \"org\": \"a\", \"sources\": [{\"doc\": \"d\"}]}\n";
        assert_eq!(parse_batch(one).expect("valid").len(), 1);
        let lines = format!("{}\n\n{}", one.replace('\n', ""), one.replace('\n', ""));
        assert_eq!(parse_batch(&lines).expect("valid").len(), 2);
        let bad = format!(
            "{}\n{}\n",
            one.replace('\n', ""),
            one.replace('\n', "").replace("2008", "2008-13")
        );
        let e = parse_batch(&bad).expect_err("bad date");
        assert_eq!((e.index, e.line), (2, 2));
        assert!(e.to_string().contains("2008-13"), "{e}");
        let broken = format!("{}\n{{\"type\": ", one.replace('\n', ""));
        let e = parse_batch(&broken).expect_err("truncated");
        assert_eq!((e.index, e.line), (2, 2));
        assert!(parse_batch("").expect("empty").is_empty());
    }

    #[test]
    fn json_lines_read_on_several_threads_are_what_the_stream_reader_reads() {
        let line = |i: usize| {
            format!(
                "{{\"type\": \"dissolved\", \"date\": \"2008\", \"org\": \"o{i}\", \"sources\": [{{\"doc\": \"d\"}}]}}"
            )
        };
        let lines: Vec<String> = (0..2000).map(line).collect();
        let text = lines.join("\n");
        for threads in [2, 3, 7] {
            let parallel = parse_lines(&text, threads).expect("JSON Lines");
            assert_eq!(parallel, parse_stream(&text).expect("valid"));
            assert_eq!(parallel.len(), 2000);
            assert_eq!(parallel[1234].mentioned_ids(), ["o1234"]);
        }
        // Blank lines, CR LF and a missing final newline are all JSON Lines.
        let loose = format!("\n \t\r\n{}\r\n\n{}", lines.join("\r\n"), line(7));
        assert_eq!(
            parse_lines(&loose, 2).expect("JSON Lines"),
            parse_stream(&loose).expect("valid")
        );
        // Anything else goes to the stream reader, which decides and words
        // the error: two events on a line, one over several lines, a bad
        // event, a duplicate member, a byte-order mark.
        let mut two_on_a_line = lines.clone();
        two_on_a_line[1500] = format!("{} {}", line(1500), line(1501));
        let mut spread = lines.clone();
        spread[10] = line(10).replace(", ", ",\n");
        let mut bad = lines.clone();
        bad[1999] = line(1999).replace("2008", "2008-13");
        let mut duplicate = lines.clone();
        duplicate[3] = line(3).replace("\"org\"", "\"org\": \"x\", \"org\"");
        for text in [two_on_a_line, spread, bad, duplicate] {
            let text = text.join("\n");
            assert_eq!(parse_lines(&text, 2), None);
            assert_eq!(parse_batch(&text), parse_stream(&text));
        }
        assert_eq!(parse_lines(&format!("\u{feff}{text}"), 2), None);
        let e = parse_batch(&lines.join("\n").replace("o1999", "")).expect_err("empty id");
        assert_eq!((e.index, e.line), (2000, 2000));
        assert_eq!(
            parse_batch(&format!("{}\n", lines.join("\n")))
                .expect("valid")
                .len(),
            2000
        );
    }

    /// The old unknown-field check: serialise back, compare members.
    fn round_trip_unknown(v: &Value) -> Option<String> {
        let event: Event = serde_json::from_value(v.clone()).ok()?;
        let back = serde_json::to_value(&event).expect("serialises");
        first_unknown_field(v, &back, String::new())
    }

    #[test]
    fn the_member_walk_agrees_with_a_typed_round_trip() {
        use crate::generator::{Options, records};
        let recs = records(&Options {
            events: 600,
            seed: 3,
            recorded: "2026-01-01T00:00:00Z".into(),
            batch: 100,
        });
        let mut values: Vec<Value> = recs.iter().map(|r| r.event.clone()).collect();
        let base = values.clone();
        // Mutations at every level: unknown members, nulls and empty
        // collections where members are optional, misspellings.
        let mutate: Vec<fn(&mut Value)> = vec![
            |v| v["zzz"] = json!(1),
            |v| v["note"] = Value::Null,
            |v| v["fulfils"] = Value::Null,
            |v| v["attrs"] = json!({}),
            |v| v["new"] = json!([]),
            |v| v["by"] = Value::Null,
            |v| v["kind"] = Value::Null,
            |v| v["value"] = Value::Null,
            |v| v["orgs"] = json!([]),
            |v| v["replacement"] = Value::Null,
            |v| v["sources"][0]["qoute"] = json!("x"),
            |v| v["sources"][0]["url"] = Value::Null,
            |v| v["sources"][0]["quote"] = Value::Null,
            |v| {
                if let Some(n) = v.get_mut("new").and_then(|n| n.get_mut(0)) {
                    n["attrs"] = json!({});
                    n["x"] = json!(1);
                }
            },
            |v| {
                if let Some(p) = v.get_mut("planned") {
                    p["sources"][0]["x"] = json!(1);
                }
            },
            |v| {
                if let Some(p) = v.get_mut("replacement") {
                    p["note"] = Value::Null;
                }
            },
            |v| {
                if let Some(p) = v.get_mut("planned") {
                    p["nmae"] = json!("x");
                    p["attrs"] = json!({});
                }
            },
        ];
        for v in &base {
            for m in &mutate {
                let mut w = v.clone();
                m(&mut w);
                values.push(w);
            }
        }
        // Type mutations: serde refuses them; the diagnosis must name them.
        let mistype: Vec<fn(&mut Value)> = vec![
            |v| v["date"] = json!(2008),
            |v| v["sources"] = json!({"doc": "d"}),
            |v| v["sources"][0]["doc"] = json!(1),
            |v| v["note"] = json!(["x"]),
            |v| {
                if v.get("values").is_some() {
                    v["values"]["members"] = json!(-1);
                }
            },
            |v| {
                if v.get("attrs").is_some() {
                    v["attrs"]["seat"] = Value::Null;
                }
            },
            |v| {
                if let Some(p) = v.get_mut("planned") {
                    p["date"] = json!("2017-13");
                }
            },
            |v| {
                if v.get("mode").is_some() {
                    v["mode"] = json!("merge");
                }
            },
            |v| {
                if v.get("member").is_some() {
                    v["member"] = json!("x");
                }
            },
            |v| {
                if let Some(o) = v.as_object_mut() {
                    o.remove("sources");
                }
            },
        ];
        let mut mistyped = Vec::new();
        for v in &base {
            for m in &mistype {
                let mut w = v.clone();
                m(&mut w);
                mistyped.push(w);
            }
        }
        let mut refused = 0;
        for v in &values {
            let fast = Event::deserialize(v)
                .ok()
                .and_then(|e| unknown_field(v, &e, ""));
            assert_eq!(fast, round_trip_unknown(v), "{v}");
            refused += usize::from(fast.is_some());
            // The diagnosis never refuses what serde takes, and names the
            // same member as the round trip.
            if Event::deserialize(v).is_ok() {
                assert_eq!(diagnose(v, "").map(|p| p.path), fast, "{v}");
            }
        }
        assert!(refused > base.len(), "mutations were refused: {refused}");
        let mut named = 0;
        for v in &mistyped {
            if Event::deserialize(v).is_err() {
                let p = diagnose(v, "").unwrap_or_else(|| panic!("undiagnosed: {v}"));
                let msg = p.error.to_string();
                assert!(msg.starts_with(&format!("field `{}`", p.path)), "{msg}");
                assert!(!msg.contains("invalid type"), "{msg}");
                named += 1;
            }
        }
        assert!(named > base.len(), "type mutations were refused: {named}");
    }

    fn refusal(v: &Value) -> String {
        Event::from_json(v).expect_err("refused").to_string()
    }

    #[test]
    fn type_errors_name_the_field_in_words() {
        // Given events with a value of the wrong JSON type, when parsed,
        // then the message names the field's path, says what was expected
        // and quotes what was found, in plain words.
        let dated = json!({"type": "dissolved", "date": 2008, "org": "a", "sources": src()});
        assert_eq!(
            refusal(&dated),
            "field `date`: expected an EDTF date string like \"2015-05\", found the integer `2008`; write it in quotes: \"2008\""
        );
        // A number read as a float is not quoted back as read
        let text = r#"{"type":"attribute_set","date":"2016","org":"a","key":"code","value":100000000000000000000000000001,"sources":[{"doc":"d"}]}"#;
        let v: Value = serde_json::from_str(text).expect("json");
        assert!(
            refusal(&v).ends_with("; write it in quotes, as its digits were written"),
            "{}",
            refusal(&v)
        );
        let negative = json!({"type": "figures", "date": "2016", "org": "a", "values": {"members": -1}, "sources": src()});
        assert_eq!(
            refusal(&negative),
            "field `values.members`: expected a non-negative integer (figures are counts), found the integer `-1`"
        );
        // A whole number written `1e3` reads as the float 1000.0: the
        // message says how it reads and how to write it.
        for written in ["1e3", "1000.0", "1E+3"] {
            let text = format!(
                r#"{{"type":"figures","date":"2016","org":"a","values":{{"members":{written}}},"sources":[{{"doc":"d"}}]}}"#
            );
            let v: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(
                refusal(&v),
                "field `values.members`: expected a non-negative integer (figures are counts), found the number `1000.0` (written with a fraction or an exponent); write it as the plain integer 1000",
                "{written}"
            );
        }
        // `-0` reads as a negative zero: not told to write `-0` again
        let text = r#"{"type":"figures","date":"2016","org":"a","values":{"members":-0},"sources":[{"doc":"d"}]}"#;
        let v: Value = serde_json::from_str(text).expect("json");
        assert_eq!(
            refusal(&v),
            "field `values.members`: expected a non-negative integer (figures are counts), found the number `-0.0` (a negative zero, which JSON reads as a float); write it as 0"
        );
        let huge: Value = serde_json::from_str(
            r#"{"type":"figures","date":"2016","org":"a","values":{"members":99999999999999999999999999999},"sources":[{"doc":"d"}]}"#,
        )
        .expect("json");
        assert_eq!(
            refusal(&huge),
            "field `values.members`: expected a non-negative integer (figures are counts), found the number `1e+29` (a whole number past 2^53-1, which JSON cannot carry exactly; as read, rounded)"
        );
        let fraction = json!({"type": "figures", "date": "2016", "org": "a", "values": {"members": 2.5}, "sources": src()});
        assert_eq!(
            refusal(&fraction),
            "field `values.members`: expected a non-negative integer (figures are counts), found the number `2.5`"
        );
        let map_sources =
            json!({"type": "dissolved", "date": "2008", "org": "a", "sources": {"doc": "d"}});
        assert_eq!(
            refusal(&map_sources),
            "field `sources`: expected an array of sources like [{\"doc\": \"…\"}], found an object"
        );
        let null_attr = json!({"type": "created", "date": "2008", "id": "a", "name": "A", "kind": "k",
                               "attrs": {"seat": null}, "sources": src()});
        assert_eq!(
            refusal(&null_attr),
            "field `attrs.seat`: expected a string, found null; omit the attribute instead of writing null"
        );
        let plan = json!({"type": "planned", "date": "2016", "sources": src(),
                          "planned": {"type": "dissolved", "date": "2017-13", "org": "a", "sources": src()}});
        let msg = refusal(&plan);
        assert!(
            msg.starts_with("field `planned.date`: `2017-13` is not an EDTF date"),
            "{msg}"
        );
        let replacement = json!({"type": "correction", "date": "2017", "sources": src(), "target": "0".repeat(64),
            "mode": "supersede", "reason": "r", "replacement": {"type": "dissolved", "date": 2017, "org": "a", "sources": src()}});
        assert!(
            refusal(&replacement).starts_with("field `replacement.date`: expected an EDTF date"),
            "{}",
            refusal(&replacement)
        );
        let mode = json!({"type": "transformed", "mode": "merge", "date": "2008", "from": ["a"], "to": ["b"], "sources": src()});
        assert_eq!(
            refusal(&mode),
            "field `mode`: `merge` is not a change mode; use one of `fusion`, `absorption`, `split`, `spin_off`, `reestablishment`, `id_change`"
        );
        let new_id = json!({"type": "transformed", "mode": "fusion", "date": "2008", "from": ["a", "b"], "to": ["c"],
                            "new": [{"id": 7, "name": "C", "kind": "k"}], "sources": src()});
        assert!(
            refusal(&new_id).starts_with("field `new[0].id`: expected an identifier string"),
            "{}",
            refusal(&new_id)
        );
        let party = json!({"type": "joined", "date": "2008", "org": "a", "member": "b", "relation": "member", "sources": src()});
        assert!(
            refusal(&party).starts_with("field `member`: expected {\"org\": \"<id>\"}"),
            "{}",
            refusal(&party)
        );
        let missing =
            json!({"type": "created", "date": "2008", "id": "a", "name": "A", "sources": src()});
        assert_eq!(
            refusal(&missing),
            "field `kind` is missing; a `created` event needs `type`, `date`, `sources`, `id`, `name`, `kind`"
        );
        let typo = json!({"type": "creatd", "date": "2008", "sources": src()});
        assert!(
            refusal(&typo)
                .starts_with("field `type`: `creatd` is not an event type; use one of `created`"),
            "{}",
            refusal(&typo)
        );
        // A misspelt member is named before the member it leaves missing.
        let knid = json!({"type": "created", "date": "2008", "id": "a", "name": "A", "knid": "k", "sources": src()});
        assert_eq!(
            Event::from_json(&knid).expect_err("misspelt"),
            ShapeError::Rule {
                field: "knid".into(),
                rule: "unknown field for a `created` event; did you mean `kind`?".into()
            }
        );
    }

    #[test]
    fn null_optional_fields_are_named_as_null_not_unknown() {
        let base = json!({"type": "label_granted", "date": "2008", "label": "L", "holder": "a", "sources": src()});
        for (field, path) in [("note", "note"), ("fulfils", "fulfils"), ("by", "by")] {
            let mut v = base.clone();
            v[field] = Value::Null;
            assert_eq!(
                refusal(&v),
                format!("field `{path}` is null; omit an optional field instead of writing null")
            );
        }
        let mut v = base.clone();
        v["sources"][0]["quote"] = Value::Null;
        assert_eq!(
            refusal(&v),
            "field `sources[0].quote` is null; omit an optional field instead of writing null"
        );
        let plan = json!({"type": "planned", "date": "2016", "sources": src(),
                          "planned": {"type": "dissolved", "date": "2017", "org": "a", "note": null, "sources": src()}});
        assert_eq!(
            refusal(&plan),
            "field `planned.note` is null; omit an optional field instead of writing null"
        );
        let empty = json!({"type": "created", "date": "2008", "id": "a", "name": "A", "kind": "k", "attrs": {}, "sources": src()});
        assert_eq!(
            refusal(&empty),
            "field `attrs` is an empty object; omit an optional field instead of writing it empty"
        );
        // `null` stays meaningful where it is: `attribute_set` removes.
        let remove = json!({"type": "attribute_set", "date": "2008", "org": "a", "key": "seat", "value": null, "sources": src()});
        assert!(Event::from_json(&remove).is_ok());
    }

    #[test]
    fn empty_keys_in_maps_are_named_as_keys() {
        let attrs = json!({"type": "created", "date": "2008", "id": "a", "name": "A", "kind": "k",
                           "attrs": {"": "x"}, "sources": src()});
        assert_eq!(
            Event::from_json(&attrs).expect_err("empty key"),
            ShapeError::Rule {
                field: "attrs".into(),
                rule: "a key is empty or blank (`\"\"`); give every attribute a name".into()
            }
        );
        let values = json!({"type": "figures", "date": "2016", "org": "a", "values": {" ": 1}, "sources": src()});
        assert_eq!(
            refusal(&values),
            "field `values`: a key is empty or blank (`\" \"`); give every figure a name"
        );
    }

    #[test]
    fn mentioned_ids_reach_into_plans() {
        let plan = json!({"type": "planned", "date": "2016-06", "sources": src(),
            "planned": {"type": "transformed", "mode": "fusion", "date": "2017-01-01", "from": ["a", "b"], "to": ["c"],
                        "new": [{"id": "c", "name": "C", "kind": "k"}], "sources": src()}});
        let e = Event::from_json(&plan).expect("valid");
        assert_eq!(e.mentioned_ids(), vec!["a", "b", "c"]);
        assert!(e.referenced_ids().is_empty());
    }
}
