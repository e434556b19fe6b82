//! Checks datasets on their own and against the policy: categories in the taxonomy and covered
//! by the dataset's activities, identities ombud knows, references that lead somewhere, every
//! collection reachable from an identity, and an erase order without cycles.

use crate::dataset::Dataset;
use crate::problem::{Places, Problem};
use ombud_core::IdentityKind;
use ombud_policy::Policy;
use ombud_policy::taxonomy::{is_within, taxonomy};
use std::collections::{BTreeMap, BTreeSet};

/// Every problem of `datasets` (each with where it was written), in file order.
pub fn check(datasets: &[(Dataset, Places)], policy: Option<&Policy>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut keys = BTreeSet::new();
    for (dataset, places) in datasets {
        if !keys.insert(dataset.key.as_str()) {
            problems.push(places.problem(
                "key",
                format!("a second dataset is keyed `{}`", dataset.key),
                Some("each dataset's key is unique among the policy's datasets".into()),
            ));
        }
    }
    let fields: BTreeSet<(&str, &str, &str)> = datasets
        .iter()
        .flat_map(|(d, _)| {
            d.collections.iter().flat_map(move |c| {
                c.fields
                    .iter()
                    .map(move |f| (d.key.as_str(), c.name.as_str(), f.name.as_str()))
            })
        })
        .collect();
    for (dataset, places) in datasets {
        check_one(dataset, places, policy, &fields, &mut problems);
    }
    reachability(datasets, &mut problems);
    erase_cycles(datasets, &mut problems);
    problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    problems
}

fn check_one(
    dataset: &Dataset,
    places: &Places,
    policy: Option<&Policy>,
    fields: &BTreeSet<(&str, &str, &str)>,
    problems: &mut Vec<Problem>,
) {
    let categories = &taxonomy().categories;
    // What the dataset's activities cover; without activities the dataset covers nothing, which
    // is its own problem below.
    let mut covered: Vec<&str> = Vec::new();
    if let Some(policy) = policy {
        for (i, purpose) in dataset.purposes.iter().enumerate() {
            match policy.activities.iter().find(|a| &a.id == purpose) {
                Some(activity) => covered.extend(activity.categories.iter().map(String::as_str)),
                None => problems.push(
                    places.problem(
                        &format!("purposes[{i}]"),
                        format!("the policy has no activity `{purpose}`"),
                        ombud_policy::suggest::nearest(
                            purpose,
                            policy.activities.iter().map(|a| a.id.as_str()),
                        )
                        .map(|s| format!("did you mean `{s}`?")),
                    ),
                ),
            }
        }
        if dataset.purposes.is_empty() {
            problems.push(places.problem(
                "key",
                format!("dataset `{}` names no purposes", dataset.key),
                Some("list the policy's activities that use these rows: purposes = [\"…\"]; their retention and legal obligations apply to them".into()),
            ));
        }
    }
    let mut names = BTreeSet::new();
    for collection in &dataset.collections {
        if !names.insert(collection.name.as_str()) {
            problems.push(places.problem(
                &collection.name,
                format!("collection `{}` is declared twice", collection.name),
                None,
            ));
        }
        if let Some(expires) = &collection.expires_by
            && collection.field(expires).is_none()
        {
            problems.push(places.problem(
                &format!("{}.expires_by", collection.name),
                format!("expires_by names `{expires}`, which collection `{}` does not declare", collection.name),
                Some("declare the column as a field (category system.operations if it holds no personal data)".into()),
            ));
        }
        let mut field_names = BTreeSet::new();
        for field in &collection.fields {
            let path = format!("{}.{}", collection.name, field.name);
            if !field_names.insert(field.name.as_str()) {
                problems.push(places.problem(
                    &path,
                    format!("field `{path}` is declared twice"),
                    None,
                ));
            }
            for (i, category) in field.categories.iter().enumerate() {
                let at = format!("{path}.categories[{i}]");
                // The policy's own extensions of the taxonomy count as the taxonomy's.
                let declared = policy.is_some_and(|p| p.category(category).is_some());
                if !categories.contains_key(category) && !declared {
                    problems.push(
                        places.problem(
                            &at,
                            format!("`{category}` is not a data category of the taxonomy"),
                            ombud_policy::suggest::nearest(
                                category,
                                categories.keys().map(String::as_str),
                            )
                            .map(|s| format!("did you mean `{s}`?")),
                        ),
                    );
                } else if policy.is_some()
                    && category.starts_with("user.")
                    && !dataset.purposes.is_empty()
                    && !covered
                        .iter()
                        .any(|c| is_within(category, c) || is_within(c, category))
                {
                    problems.push(places.problem(
                        &at,
                        format!(
                            "`{path}` holds {category}, which no activity of dataset `{}` ({}) covers",
                            dataset.key,
                            dataset.purposes.join(", ")
                        ),
                        Some("add the category to one of those activities (and so to the notice), or name the activity that uses it in purposes".into()),
                    ));
                }
            }
            if let Some(identity) = &field.identity
                && IdentityKind::parse(identity).is_none()
            {
                problems.push(places.problem(
                    &format!("{path}.identity"),
                    format!("`{identity}` is not an identity ombud knows"),
                    Some("use email, phone, user_id, customer_no or national_id".into()),
                ));
            }
            for (i, reference) in field.references.iter().enumerate() {
                let target = (
                    reference.dataset.as_str(),
                    reference.collection.as_str(),
                    reference.field.as_str(),
                );
                if !fields.contains(&target) {
                    problems.push(places.problem(
                        &format!("{path}.references[{i}]"),
                        format!(
                            "`{path}` refers to {}.{}.{}, which no dataset declares",
                            reference.dataset, reference.collection, reference.field
                        ),
                        Some("declare that field, or correct the reference".into()),
                    ));
                }
            }
        }
    }
}

/// A collection no identity leads to would be left out of every request: say so.
fn reachability(datasets: &[(Dataset, Places)], problems: &mut Vec<Problem>) {
    let graph = crate::reach::Graph::new(datasets.iter().map(|(d, _)| d));
    let reached = graph.reachable();
    for (dataset, places) in datasets {
        for collection in &dataset.collections {
            if collection.skip {
                continue;
            }
            if !reached.contains(&(dataset.key.clone(), collection.name.clone())) {
                problems.push(places.problem(
                    &collection.name,
                    format!(
                        "no identity leads to collection `{}` of dataset `{}`: requests would never reach its rows",
                        collection.name, dataset.key
                    ),
                    Some("mark the field that holds the person's email, phone or id with identity, or add a reference from a collection that is reached".into()),
                ));
            }
        }
    }
}

/// `erase_after` must order the collections, not go round.
fn erase_cycles(datasets: &[(Dataset, Places)], problems: &mut Vec<Problem>) {
    let mut after: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (dataset, _) in datasets {
        for collection in &dataset.collections {
            after
                .entry(format!("{}.{}", dataset.key, collection.name))
                .or_default()
                .extend(collection.erase_after.iter().cloned());
        }
    }
    for (dataset, places) in datasets {
        for collection in &dataset.collections {
            let start = format!("{}.{}", dataset.key, collection.name);
            for (i, first) in collection.erase_after.iter().enumerate() {
                if !after.contains_key(first) {
                    problems.push(places.problem(
                        &format!("{}.erase_after[{i}]", collection.name),
                        format!("erase_after names `{first}`, which no dataset declares"),
                        Some("write dataset.collection of a declared collection".into()),
                    ));
                }
            }
            // Depth-first from this collection; reaching it again is a cycle.
            let mut stack: Vec<(String, Vec<String>)> = collection
                .erase_after
                .iter()
                .map(|n| (n.clone(), vec![start.clone(), n.clone()]))
                .collect();
            let mut seen = BTreeSet::new();
            while let Some((node, path)) = stack.pop() {
                if node == start {
                    problems.push(
                        places.problem(
                            &collection.name,
                            format!("erase_after goes round: {}", path.join(" → ")),
                            Some(
                                "erasure needs an order: remove one of these erase_after entries"
                                    .into(),
                            ),
                        ),
                    );
                    break;
                }
                if !seen.insert(node.clone()) {
                    continue;
                }
                for next in after.get(&node).into_iter().flatten() {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
}
