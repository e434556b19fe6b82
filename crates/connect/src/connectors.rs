//! The policy's datasets with their open connections, shared by every request: a few
//! connections per dataset are kept for the next request, and one that failed is dropped.

use crate::dataset::Dataset;
use crate::reach::{Reader, Requester, Rows, reach};
use crate::sql::{ConnectError, Database};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How many idle connections per dataset are kept.
const IDLE: usize = 4;

#[derive(Default)]
pub struct Connectors {
    datasets: Vec<Dataset>,
    idle: Mutex<BTreeMap<String, Vec<Database>>>,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connectors")
            .field(
                "datasets",
                &self.datasets.iter().map(|d| &d.key).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Connectors {
    pub fn new(datasets: Vec<Dataset>) -> Connectors {
        Connectors {
            datasets,
            idle: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn datasets(&self) -> &[Dataset] {
        &self.datasets
    }

    pub fn dataset(&self, key: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.key == key)
    }

    /// Whether any dataset is this requester's.
    pub fn any_for(&self, requester: &Requester) -> bool {
        self.datasets.iter().any(|d| requester.scope(d).is_some())
    }

    /// An idle connection of the dataset (`true`: it may have been dropped by the server since),
    /// or a new one when there is none or `fresh` asks for one.
    fn take(&self, dataset: &Dataset, fresh: bool) -> Result<(Database, bool), ConnectError> {
        let idle = if fresh {
            None
        } else {
            self.idle
                .lock()
                .ok()
                .and_then(|mut idle| idle.get_mut(&dataset.key).and_then(Vec::pop))
        };
        match idle {
            Some(database) => Ok((database, true)),
            None => {
                let connection = dataset.connection.as_ref().ok_or_else(|| {
                    ConnectError::new(format!(
                        "dataset `{}` has no connection: give [connection] kind and url_env",
                        dataset.key
                    ))
                })?;
                Database::open(&dataset.key, connection).map(|d| (d, false))
            }
        }
    }

    fn give_back(&self, key: String, database: Database) {
        if let Ok(mut idle) = self.idle.lock() {
            let kept = idle.entry(key).or_default();
            if kept.len() < IDLE {
                kept.push(database);
            }
        }
    }

    /// Every row the identities reach in the requester's datasets.
    pub fn reach(
        &self,
        requester: &Requester,
        identities: &[(String, String)],
    ) -> Result<Vec<Rows>, ConnectError> {
        // `reach` leaves out the datasets that are not the requester's; these need connections.
        let mine: Vec<&Dataset> = self
            .datasets
            .iter()
            .filter(|d| requester.scope(d).is_some())
            .collect();
        if mine.is_empty() || identities.is_empty() {
            return Ok(Vec::new());
        }
        // A kept connection the server has dropped since (a restart, a failover) fails the
        // traversal once; it is then run again on new connections.
        let mut fresh = false;
        loop {
            let mut databases: BTreeMap<String, Database> = BTreeMap::new();
            let mut any_kept = false;
            for dataset in &mine {
                let (database, kept) = self.take(dataset, fresh)?;
                any_kept |= kept;
                databases.insert(dataset.key.clone(), database);
            }
            let mut borrowed: BTreeMap<String, Box<dyn Reader + '_>> = BTreeMap::new();
            for (key, database) in databases.iter_mut() {
                borrowed.insert(key.clone(), Box::new(ReaderRef(database)));
            }
            let result = reach(&self.datasets, &mut borrowed, requester, identities);
            drop(borrowed);
            match result {
                Ok(rows) => {
                    for (key, database) in databases {
                        self.give_back(key, database);
                    }
                    return Ok(rows);
                }
                Err(_) if any_kept && !fresh => fresh = true,
                Err(error) => return Err(error),
            }
        }
    }
}

/// A borrowed database as a reader, so the connection can be kept after the traversal.
struct ReaderRef<'a>(&'a mut Database);

impl Reader for ReaderRef<'_> {
    fn select(
        &mut self,
        select: &crate::reach::Select<'_>,
    ) -> Result<Vec<crate::reach::Row>, ConnectError> {
        self.0.select(select)
    }
}

impl Connectors {
    /// The columns of one of a dataset's tables.
    pub fn columns(
        &self,
        dataset: &str,
        table: &str,
    ) -> Result<Option<crate::sql::Columns>, ConnectError> {
        self.with(dataset, |database| database.columns(table))
    }

    /// Applies the changes to one dataset's database in one transaction, tables ordered so
    /// that no foreign key the database reports (nor an `erase_after`) is broken on the way.
    pub fn apply(
        &self,
        dataset: &str,
        changes: Vec<crate::sql::TableChanges>,
    ) -> Result<Vec<(String, crate::sql::Applied)>, ConnectError> {
        let found = self
            .dataset(dataset)
            .ok_or_else(|| ConnectError::new(format!("no dataset `{dataset}`")))?;
        let erase_after: Vec<(String, String)> = found
            .collections
            .iter()
            .flat_map(|c| {
                c.erase_after.iter().filter_map(|after| {
                    after
                        .strip_prefix(&format!("{dataset}."))
                        .map(|first| (c.name.clone(), first.to_owned()))
                })
            })
            .collect();
        let tables: Vec<String> = changes.iter().map(|c| c.table.clone()).collect();
        // Run again on a new connection after a dropped one, the transaction having failed
        // whole: the same changes find the same rows, and a row changed already changes to
        // the same value.
        self.with(dataset, |database| {
            let references = database.foreign_keys()?;
            let order = crate::sql::erase_order(&tables, &references, &erase_after);
            let mut ordered = changes.clone();
            ordered.sort_by_key(|c| order.iter().position(|t| t == &c.table));
            database.apply(dataset, &ordered)
        })
    }
}

impl Connectors {
    /// Runs `work` on a connection of the dataset, kept for the next caller when it succeeds;
    /// once more on a new connection when a kept one fails (the server may have dropped it).
    pub fn with<T>(
        &self,
        dataset: &str,
        mut work: impl FnMut(&mut Database) -> Result<T, ConnectError>,
    ) -> Result<T, ConnectError> {
        let found = self
            .dataset(dataset)
            .ok_or_else(|| ConnectError::new(format!("no dataset `{dataset}`")))?;
        let (mut database, kept) = self.take(found, false)?;
        let result = match work(&mut database) {
            Err(_) if kept => {
                let (fresh, _) = self.take(found, true)?;
                database = fresh;
                work(&mut database)?
            }
            other => other?,
        };
        self.give_back(dataset.to_owned(), database);
        Ok(result)
    }
}
