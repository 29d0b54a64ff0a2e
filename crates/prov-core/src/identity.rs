//! prov's identity for an instance, with no state file: its label plus the `prov-managed` tag, and the per-create
//! marker tag. Decides what a plan instance is given what exists (new, exists, duplicate, conflict) and, when
//! several managed instances share a label, which one is kept: the same answer in every process, so two runs that
//! raced on one plan converge on one instance per label (docs/reliability.md, "Convergence").

use std::cmp::Ordering;
use std::time::SystemTime;

use crate::create::MARKER_PREFIX;
use crate::model::Instance;
use crate::provider::MANAGED_TAG;

/// What a plan instance is, given the provider's current instances.
#[derive(Debug, Clone, PartialEq)]
pub enum Identity {
    /// Nothing with its label: create it.
    New,
    /// Exactly one managed instance has its label.
    Exists(Instance),
    /// Several managed instances have its label, in keeping order: the first is the one to keep.
    Duplicate(Vec<Instance>),
    /// An instance with its label exists that prov did not create (no `prov-managed` tag).
    Conflict(Instance),
}

/// Matches `label` against `existing` by label; the managed tag decides exists vs conflict.
///
/// ```
/// use prov_core::identity::{Identity, identify};
/// assert_eq!(identify("web-1", &[]), Identity::New);
/// ```
pub fn identify(label: &str, existing: &[Instance]) -> Identity {
    let mut managed = managed_labelled(label, existing);
    match managed.len() {
        0 => existing.iter().find(|i| i.label == label).cloned().map_or(Identity::New, Identity::Conflict),
        1 => Identity::Exists(managed.remove(0)),
        _ => Identity::Duplicate(managed),
    }
}

/// The managed instances labelled `label`, in keeping order (see [`keeping_order`]).
pub fn managed_labelled(label: &str, existing: &[Instance]) -> Vec<Instance> {
    let mut same: Vec<Instance> =
        existing.iter().filter(|i| i.label == label && i.has_tag(MANAGED_TAG)).cloned().collect();
    same.sort_by(keeping_order);
    same
}

/// What an argument naming an instance (`prov show P x`, `prov delete P x`) refers to among `existing`.
#[derive(Debug, Clone, PartialEq)]
pub enum Named<'a> {
    /// The instance with this id (an id always wins over a label).
    Id(&'a Instance),
    /// The one instance with this label.
    Label(&'a Instance),
    /// Several instances carry this label: the caller must say which (by id).
    Ambiguous(Vec<&'a Instance>),
    /// No instance has this id or label.
    Missing,
}

/// Resolves `arg` as an id, then as a label, among `existing`.
///
/// ```
/// use prov_core::identity::{Named, named};
/// assert_eq!(named("web-1", &[]), Named::Missing);
/// ```
pub fn named<'a>(arg: &str, existing: &'a [Instance]) -> Named<'a> {
    if let Some(i) = existing.iter().find(|i| i.id == arg) {
        return Named::Id(i);
    }
    let mut labelled: Vec<&Instance> = existing.iter().filter(|i| i.label == arg).collect();
    match labelled.len() {
        0 => Named::Missing,
        1 => Named::Label(labelled.remove(0)),
        _ => Named::Ambiguous(labelled),
    }
}

/// The marker tag a create put on `instance`, if any.
pub fn marker_of(instance: &Instance) -> Option<&str> {
    instance.tags.iter().map(String::as_str).find(|t| t.starts_with(MARKER_PREFIX))
}

/// The deterministic rule for which of several same-labelled instances is kept: the oldest by the provider's
/// creation time (an unknown time counts as newest), then the smaller marker, then the smaller id. Every process
/// that sees the same instances picks the same one.
pub fn keeping_order(a: &Instance, b: &Instance) -> Ordering {
    let time = |i: &Instance| i.created_at.as_deref().and_then(parse_time);
    let by_time = match (time(a), time(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_time.then_with(|| marker_of(a).unwrap_or("~").cmp(marker_of(b).unwrap_or("~"))).then_with(|| a.id.cmp(&b.id))
}

fn parse_time(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z').trim_end_matches("+00:00")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InstanceStatus;

    fn inst(id: &str, label: &str, created: Option<&str>, tags: &[&str]) -> Instance {
        Instance {
            provider: "fake".into(),
            id: id.into(),
            label: label.into(),
            status: InstanceStatus::Ready,
            provider_status: "active".into(),
            ipv4: None,
            ipv6: None,
            region: "r".into(),
            plan: "p".into(),
            image: "i".into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            created_at: created.map(str::to_owned),
        }
    }

    #[test]
    fn a_label_is_new_exists_duplicate_or_conflict() {
        let mine = inst("1", "web", Some("2026-01-01T00:00:00Z"), &[MANAGED_TAG]);
        let other = inst("2", "web", None, &[]);
        assert_eq!(identify("web", &[]), Identity::New);
        assert_eq!(identify("web", std::slice::from_ref(&mine)), Identity::Exists(mine.clone()));
        assert_eq!(identify("web", std::slice::from_ref(&other)), Identity::Conflict(other.clone()));
        assert_eq!(identify("web", &[other, mine.clone()]), Identity::Exists(mine.clone()), "managed wins");
        let twin = inst("3", "web", Some("2026-01-01T00:00:05Z"), &[MANAGED_TAG]);
        assert_eq!(identify("web", &[twin.clone(), mine.clone()]), Identity::Duplicate(vec![mine, twin]));
    }

    #[test]
    fn the_oldest_is_kept_then_the_smaller_marker_whatever_the_order_seen() {
        let old = inst("9", "web", Some("2026-01-01T00:00:00Z"), &[MANAGED_TAG, "prov-create-ff"]);
        let new = inst("1", "web", Some("2026-01-01T00:00:01+00:00"), &[MANAGED_TAG, "prov-create-00"]);
        let unknown = inst("0", "web", None, &[MANAGED_TAG, "prov-create-00"]);
        for seen in [vec![old.clone(), new.clone(), unknown.clone()], vec![unknown.clone(), new.clone(), old.clone()]] {
            assert_eq!(managed_labelled("web", &seen)[0].id, "9");
        }
        let a = inst("a", "web", Some("2026-01-01T00:00:00Z"), &[MANAGED_TAG, "prov-create-0b"]);
        let b = inst("b", "web", Some("2026-01-01T00:00:00Z"), &[MANAGED_TAG, "prov-create-0a"]);
        assert_eq!(managed_labelled("web", &[a.clone(), b.clone()])[0].id, "b", "same second: smaller marker");
        assert_eq!(managed_labelled("web", &[b, a])[0].id, "b");
    }
}
