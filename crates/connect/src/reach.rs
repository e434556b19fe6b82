//! From a person's identities to every row of the datasets that is theirs: the collections an
//! identity field starts from, then the references followed breadth-first, one batched query
//! per collection and column at each step, until no new value turns up.

use crate::dataset::{Collection, Dataset, Direction, TenantScope};
use std::collections::{BTreeMap, BTreeSet};

/// A collection, as (dataset key, collection name).
pub type Node = (String, String);

/// Values found in `from` lead to the rows of `to.0` whose column `to.1` holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    from: (Node, String),
    to: (Node, String),
}

/// The collections and references of a set of datasets.
pub struct Graph<'a> {
    datasets: BTreeMap<&'a str, &'a Dataset>,
    edges: Vec<Edge>,
}

impl<'a> Graph<'a> {
    pub fn new(datasets: impl IntoIterator<Item = &'a Dataset>) -> Graph<'a> {
        let datasets: BTreeMap<&str, &Dataset> =
            datasets.into_iter().map(|d| (d.key.as_str(), d)).collect();
        let mut edges = Vec::new();
        for dataset in datasets.values() {
            for collection in &dataset.collections {
                for field in &collection.fields {
                    let here = (
                        (dataset.key.clone(), collection.name.clone()),
                        field.name.clone(),
                    );
                    for reference in &field.references {
                        let there = (
                            (reference.dataset.clone(), reference.collection.clone()),
                            reference.field.clone(),
                        );
                        if matches!(reference.direction, Direction::To | Direction::Both) {
                            edges.push(Edge {
                                from: here.clone(),
                                to: there.clone(),
                            });
                        }
                        if matches!(reference.direction, Direction::From | Direction::Both) {
                            edges.push(Edge {
                                from: there,
                                to: here.clone(),
                            });
                        }
                    }
                }
            }
        }
        Graph { datasets, edges }
    }

    fn collection(&self, node: &Node) -> Option<(&'a Dataset, &'a Collection)> {
        let dataset = self.datasets.get(node.0.as_str())?;
        Some((dataset, dataset.collection(&node.1)?))
    }

    /// Identity fields: where a request starts, with the identity kind each takes.
    fn entries(&self) -> Vec<((Node, String), &'a str)> {
        let mut out = Vec::new();
        for dataset in self.datasets.values() {
            for collection in dataset.collections.iter().filter(|c| !c.skip) {
                for field in &collection.fields {
                    if let Some(kind) = &field.identity {
                        out.push((
                            (
                                (dataset.key.clone(), collection.name.clone()),
                                field.name.clone(),
                            ),
                            kind.as_str(),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Every collection some identity leads to, whatever the data.
    pub fn reachable(&self) -> BTreeSet<Node> {
        let mut reached: BTreeSet<Node> = self.entries().into_iter().map(|((n, _), _)| n).collect();
        let mut frontier: Vec<Node> = reached.iter().cloned().collect();
        while let Some(node) = frontier.pop() {
            for edge in self.edges.iter().filter(|e| e.from.0 == node) {
                let skipped = self.collection(&edge.to.0).is_none_or(|(_, c)| c.skip);
                if !skipped && reached.insert(edge.to.0.clone()) {
                    frontier.push(edge.to.0.clone());
                }
            }
        }
        reached
    }
}

/// Whose request this is, to choose the datasets and rows it may reach.
#[derive(Debug, Clone)]
pub struct Requester {
    pub tenant_id: String,
    pub tenant_name: String,
    pub operator: bool,
}

impl Requester {
    fn is(&self, name_or_id: &str) -> bool {
        name_or_id == self.tenant_id || name_or_id == self.tenant_name
    }

    /// Whether the dataset is this tenant's, and for a shared one the values of its tenant
    /// column that are.
    pub fn scope(&self, dataset: &Dataset) -> Option<Option<(String, Vec<String>)>> {
        match &dataset.tenant {
            TenantScope::Operator => self.operator.then_some(None),
            TenantScope::Customer(customer) => self.is(customer).then_some(None),
            TenantScope::Column { column, values } => {
                let mine: Vec<String> = values
                    .iter()
                    .filter(|(_, tenant)| self.is(tenant))
                    .map(|(value, _)| value.clone())
                    .collect();
                (!mine.is_empty()).then(|| Some((column.clone(), mine)))
            }
        }
    }
}

/// One query a traversal asks of a database.
pub struct Select<'a> {
    pub dataset: &'a Dataset,
    pub collection: &'a Collection,
    /// The columns to read, in this order.
    pub fields: Vec<&'a str>,
    /// Columns reported as held but never read (credentials).
    pub withheld: BTreeSet<&'a str>,
    /// The column the values are looked up in.
    pub by: &'a str,
    /// Compare case-insensitively (email addresses).
    pub fold_case: bool,
    pub values: Vec<String>,
    /// A shared database's tenant column and the values that are the requester's.
    pub scope: Option<(String, Vec<String>)>,
}

/// A database a traversal reads: the rows of one collection whose column holds one of the
/// values, each as text (NULL as `None`) in the order of `select.fields`.
pub trait Reader {
    fn select(
        &mut self,
        select: &Select<'_>,
    ) -> Result<Vec<Vec<Option<String>>>, crate::sql::ConnectError>;
}

/// A row as text, NULL as `None`.
pub type Row = Vec<Option<String>>;

/// What withheld fields read as.
pub const WITHHELD: &str = "(held; credentials are not exported)";

/// The rows of one collection a person reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rows {
    pub dataset: String,
    /// The dataset's name: the system the rows are in, as the person is told.
    pub system: String,
    pub collection: String,
    pub fields: Vec<String>,
    pub categories: Vec<Vec<String>>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// Categories whose values are never exported: they would let whoever holds the answer sign
/// in as the person.
pub fn is_credential(category: &str) -> bool {
    use ombud_policy::taxonomy::is_within;
    is_within(category, "system.authentication")
        || is_within(category, "user.authorization.credentials")
        || is_within(category, "user.authorization.password")
}

/// Every row the identities (kind, normalised value) reach in the datasets the requester may
/// see; `readers` holds a reader per dataset key. Collections reached with no rows are left out.
pub fn reach(
    datasets: &[Dataset],
    readers: &mut BTreeMap<String, Box<dyn Reader + '_>>,
    requester: &Requester,
    identities: &[(String, String)],
) -> Result<Vec<Rows>, crate::sql::ConnectError> {
    let mine: Vec<&Dataset> = datasets
        .iter()
        .filter(|d| requester.scope(d).is_some())
        .collect();
    let graph = Graph::new(mine.iter().copied());
    let mut pending: BTreeMap<(Node, String), BTreeSet<String>> = BTreeMap::new();
    for (at, kind) in graph.entries() {
        for (identity_kind, value) in identities {
            if identity_kind == kind {
                pending.entry(at.clone()).or_default().insert(value.clone());
            }
        }
    }
    let mut asked: BTreeMap<(Node, String), BTreeSet<String>> = BTreeMap::new();
    // Per collection: the keys of the rows found, and the rows in the order found.
    let mut found: BTreeMap<Node, (BTreeSet<Row>, Vec<Row>)> = BTreeMap::new();
    while !pending.is_empty() {
        for ((node, by), values) in std::mem::take(&mut pending) {
            let Some((dataset, collection)) = graph.collection(&node) else {
                continue;
            };
            if collection.skip {
                continue;
            }
            let seen = asked.entry((node.clone(), by.clone())).or_default();
            let new: Vec<String> = values
                .into_iter()
                .filter(|v| seen.insert(v.clone()))
                .collect();
            if new.is_empty() {
                continue;
            }
            let fields: Vec<&str> = collection.fields.iter().map(|f| f.name.as_str()).collect();
            let withheld = collection
                .fields
                .iter()
                .filter(|f| f.categories.iter().any(|c| is_credential(c)))
                .map(|f| f.name.as_str())
                .collect();
            let fold_case = collection.field(&by).and_then(|f| f.identity.as_deref())
                == Some("email")
                || collection.field(&by).is_some_and(|f| {
                    f.categories
                        .iter()
                        .any(|c| c.starts_with("user.contact.email"))
                });
            let reader = readers.get_mut(&dataset.key).ok_or_else(|| {
                crate::sql::ConnectError::new(format!(
                    "dataset `{}` has no connection open",
                    dataset.key
                ))
            })?;
            let select = Select {
                dataset,
                collection,
                fields,
                withheld,
                by: &by,
                fold_case,
                values: new,
                scope: requester.scope(dataset).flatten(),
            };
            let rows = reader.select(&select)?;
            let key_columns: Vec<usize> = collection
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.primary_key)
                .map(|(i, _)| i)
                .collect();
            let (keys, kept) = found.entry(node.clone()).or_default();
            for row in rows {
                let key = if key_columns.is_empty() {
                    row.clone()
                } else {
                    key_columns.iter().map(|&i| row[i].clone()).collect()
                };
                if !keys.insert(key) {
                    continue;
                }
                for edge in graph.edges.iter().filter(|e| e.from.0 == node) {
                    if let Some(i) = collection.fields.iter().position(|f| f.name == edge.from.1)
                        && let Some(value) = &row[i]
                        && !select.withheld.contains(edge.from.1.as_str())
                    {
                        pending
                            .entry(edge.to.clone())
                            .or_default()
                            .insert(value.clone());
                    }
                }
                kept.push(row);
            }
        }
    }
    let mut out = Vec::new();
    for ((dataset_key, collection_name), (_, rows)) in found {
        if rows.is_empty() {
            continue;
        }
        let Some((dataset, collection)) =
            graph.collection(&(dataset_key.clone(), collection_name.clone()))
        else {
            continue;
        };
        out.push(Rows {
            system: dataset.name.clone(),
            dataset: dataset_key,
            collection: collection_name,
            fields: collection.fields.iter().map(|f| f.name.clone()).collect(),
            categories: collection
                .fields
                .iter()
                .map(|f| f.categories.clone())
                .collect(),
            rows,
        });
    }
    Ok(out)
}
