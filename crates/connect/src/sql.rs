//! The databases datasets live in: opening a connection from the environment or a file, the
//! columns a table really has, and the batched reads of a traversal. PostgreSQL and SQLite.

use crate::dataset::{Connection, Kind};
use crate::reach::{Reader, Select, WITHHELD};
use std::collections::{BTreeMap, HashMap};

/// A failure to reach or read a database, in words that never carry its URL or a value read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    pub message: String,
}

impl ConnectError {
    pub fn new(message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
        }
    }
}

/// A column as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The type without its modifiers (`character varying`, `integer`, `TEXT`).
    pub kind: String,
    /// The longest text it takes, when the type says (`character varying(40)`).
    pub max_len: Option<usize>,
    pub not_null: bool,
}

/// A table's columns by name.
pub type Columns = BTreeMap<String, Column>;

/// An open connection to one dataset's database.
pub enum Database {
    Postgres {
        client: Box<postgres::Client>,
        schema: String,
        /// Column name → type, per table, read once.
        columns: HashMap<String, Option<Columns>>,
    },
    Sqlite {
        connection: Box<rusqlite::Connection>,
        columns: HashMap<String, Option<Columns>>,
    },
    Mysql {
        conn: Box<mysql::Conn>,
        /// The database the tables are in, when not the URL's.
        schema: Option<String>,
        columns: HashMap<String, Option<Columns>>,
    },
}

/// The URL a connection names: from its environment variable or the first line of its file.
pub fn url(dataset: &str, connection: &Connection) -> Result<String, ConnectError> {
    if let Some(name) = &connection.url_env {
        return std::env::var(name).map_err(|_| {
            ConnectError::new(format!(
                "dataset `{dataset}`: the environment variable {name} that holds its database URL is not set"
            ))
        });
    }
    if let Some(path) = &connection.url_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConnectError::new(format!(
                "dataset `{dataset}`: cannot read its URL file {path}: {e}"
            ))
        })?;
        return text
            .lines()
            .next()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| ConnectError::new(format!("dataset `{dataset}`: {path} holds no URL")));
    }
    Err(ConnectError::new(format!(
        "dataset `{dataset}`: its connection names neither url_env nor url_file"
    )))
}

impl Database {
    pub fn open(dataset: &str, connection: &Connection) -> Result<Database, ConnectError> {
        let url = url(dataset, connection)?;
        match connection.kind {
            Kind::Postgres => {
                let client = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| {
                    ConnectError::new(format!(
                        "dataset `{dataset}`: cannot connect to PostgreSQL: {}",
                        plain(&e)
                    ))
                })?;
                Ok(Database::Postgres {
                    client: Box::new(client),
                    schema: connection.schema.clone().unwrap_or_else(|| "public".into()),
                    columns: HashMap::new(),
                })
            }
            Kind::Sqlite => {
                let path = url.strip_prefix("sqlite://").unwrap_or(&url);
                let connection = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| {
                    ConnectError::new(format!(
                        "dataset `{dataset}`: cannot open the SQLite file: {e}"
                    ))
                })?;
                Ok(Database::Sqlite {
                    connection: Box::new(connection),
                    columns: HashMap::new(),
                })
            }
            Kind::Mysql => Ok(Database::Mysql {
                conn: Box::new(crate::mariadb::open(dataset, &url)?),
                schema: connection.schema.clone(),
                columns: HashMap::new(),
            }),
        }
    }

    /// The columns `table` has (name → type as the database names it), or `None` when there
    /// is no such table.
    pub fn columns(&mut self, table: &str) -> Result<Option<Columns>, ConnectError> {
        match self {
            Database::Postgres {
                client,
                schema,
                columns,
            } => {
                if let Some(known) = columns.get(table) {
                    return Ok(known.clone());
                }
                let rows = client
                    .query(
                        "SELECT a.attname, format_type(a.atttypid, NULL),
                                CASE WHEN a.atttypmod > 4 AND t.typcategory = 'S' THEN a.atttypmod - 4 END,
                                a.attnotnull
                           FROM pg_attribute a
                           JOIN pg_type t ON a.atttypid = t.oid
                           JOIN pg_class c ON a.attrelid = c.oid
                           JOIN pg_namespace n ON c.relnamespace = n.oid
                          WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm')
                            AND a.attnum > 0 AND NOT a.attisdropped",
                        &[&*schema, &table],
                    )
                    .map_err(|e| ConnectError::new(format!("while reading the columns of {table}: {}", plain(&e))))?;
                let found: Columns = rows
                    .iter()
                    .map(|r| {
                        (
                            r.get::<_, String>(0),
                            Column {
                                kind: r.get(1),
                                max_len: r
                                    .get::<_, Option<i32>>(2)
                                    .and_then(|n| usize::try_from(n).ok()),
                                not_null: r.get(3),
                            },
                        )
                    })
                    .collect();
                let found = (!found.is_empty()).then_some(found);
                columns.insert(table.to_owned(), found.clone());
                Ok(found)
            }
            Database::Sqlite {
                connection,
                columns,
            } => {
                if let Some(known) = columns.get(table) {
                    return Ok(known.clone());
                }
                let mut statement = connection
                    .prepare("SELECT name, type, \"notnull\" FROM pragma_table_info(?1)")
                    .map_err(|e| {
                        ConnectError::new(format!("while reading the columns of {table}: {e}"))
                    })?;
                // SQLite keeps any length in any text column: no limit to respect.
                let found: Columns = statement
                    .query_map([table], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            Column {
                                kind: row.get(1)?,
                                max_len: None,
                                not_null: row.get::<_, i64>(2)? != 0,
                            },
                        ))
                    })
                    .and_then(|rows| rows.collect())
                    .map_err(|e| {
                        ConnectError::new(format!("while reading the columns of {table}: {e}"))
                    })?;
                let found = (!found.is_empty()).then_some(found);
                columns.insert(table.to_owned(), found.clone());
                Ok(found)
            }
            Database::Mysql {
                conn,
                schema,
                columns,
            } => {
                if let Some(known) = columns.get(table) {
                    return Ok(known.clone());
                }
                let found = crate::mariadb::columns(conn, schema.as_deref(), table)?;
                columns.insert(table.to_owned(), found.clone());
                Ok(found)
            }
        }
    }
}

/// A PostgreSQL error in words: the server's message without its detail lines, which may
/// quote row values.
fn plain(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => error.to_string(),
    }
}

/// `"name"`, with quotes inside doubled: identifiers come from dataset files.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether a value can be compared with a column of this type at all; a value that cannot
/// (a user id `ana` against an integer key) matches no row.
fn fits(column_type: &str, value: &str) -> bool {
    match column_type {
        // MySQL compares text with a number by converting it, and `ana` becomes 0.
        "smallint" | "integer" | "bigint" | "int" | "tinyint" | "mediumint" => {
            value.parse::<i64>().is_ok()
        }
        "numeric" | "real" | "double precision" | "decimal" | "double" | "float" => {
            value.parse::<f64>().is_ok()
        }
        "uuid" => value.len() == 36 && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "boolean" => matches!(value, "true" | "false" | "t" | "f"),
        _ => true,
    }
}

impl Reader for Database {
    fn select(&mut self, select: &Select<'_>) -> Result<Vec<Vec<Option<String>>>, ConnectError> {
        let table = select.collection.name.as_str();
        let Some(columns) = self.columns(table)? else {
            return Err(ConnectError::new(format!(
                "dataset `{}`: table {table} does not exist",
                select.dataset.key
            )));
        };
        for name in select
            .fields
            .iter()
            .copied()
            .chain([select.by])
            .chain(select.scope.as_ref().map(|(c, _)| c.as_str()))
        {
            if !columns.contains_key(name) {
                return Err(ConnectError::new(format!(
                    "dataset `{}`: table {table} has no column {name}",
                    select.dataset.key
                )));
            }
        }
        let values: Vec<String> = select
            .values
            .iter()
            .filter(|v| fits(&columns[select.by].kind, v))
            .map(|v| {
                if select.fold_case {
                    v.to_lowercase()
                } else {
                    v.clone()
                }
            })
            .collect();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let read = |name: &str, text: &str| {
            if select.withheld.contains(name) {
                format!(
                    "CASE WHEN {} IS NULL THEN NULL ELSE '{WITHHELD}' END",
                    quote(name)
                )
            } else {
                format!("CAST({} AS {text})", quote(name))
            }
        };
        match self {
            Database::Mysql { conn, .. } => crate::mariadb::select(conn, select, &values),
            Database::Postgres { client, schema, .. } => {
                let list: Vec<String> = select.fields.iter().map(|f| read(f, "text")).collect();
                let by = if select.fold_case {
                    format!("lower({}) = ANY($1::text[])", quote(select.by))
                } else {
                    format!(
                        "{} = ANY($1::text[]::{}[])",
                        quote(select.by),
                        columns[select.by].kind
                    )
                };
                let mut sql = format!(
                    "SELECT {} FROM {}.{} WHERE {by}",
                    list.join(", "),
                    quote(schema),
                    quote(table)
                );
                let scope_values: Vec<String> = select
                    .scope
                    .as_ref()
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                if let Some((column, _)) = &select.scope {
                    sql.push_str(&format!(
                        " AND CAST({} AS text) = ANY($2::text[])",
                        quote(column)
                    ));
                }
                let rows = if select.scope.is_some() {
                    client.query(&sql, &[&values, &scope_values])
                } else {
                    client.query(&sql, &[&values])
                }
                .map_err(|e| {
                    ConnectError::new(format!(
                        "dataset `{}`: reading {table} failed: {}",
                        select.dataset.key,
                        plain(&e)
                    ))
                })?;
                Ok(rows
                    .iter()
                    .map(|row| {
                        (0..select.fields.len())
                            .map(|i| row.get::<_, Option<String>>(i))
                            .collect()
                    })
                    .collect())
            }
            Database::Sqlite { connection, .. } => {
                let list: Vec<String> = select.fields.iter().map(|f| read(f, "TEXT")).collect();
                let mut out = Vec::new();
                // Within SQLite's limit on bound parameters.
                for chunk in values.chunks(500) {
                    let marks = vec!["?"; chunk.len()].join(", ");
                    let by = if select.fold_case {
                        format!("lower({}) IN ({marks})", quote(select.by))
                    } else {
                        format!("{} IN ({marks})", quote(select.by))
                    };
                    let mut sql = format!(
                        "SELECT {} FROM {} WHERE {by}",
                        list.join(", "),
                        quote(table)
                    );
                    let mut params: Vec<&str> = chunk.iter().map(String::as_str).collect();
                    if let Some((column, mine)) = &select.scope {
                        let marks = vec!["?"; mine.len()].join(", ");
                        sql.push_str(&format!(
                            " AND CAST({} AS TEXT) IN ({marks})",
                            quote(column)
                        ));
                        params.extend(mine.iter().map(String::as_str));
                    }
                    let mut statement = connection.prepare_cached(&sql).map_err(|e| {
                        ConnectError::new(format!(
                            "dataset `{}`: reading {table} failed: {e}",
                            select.dataset.key
                        ))
                    })?;
                    let rows = statement
                        .query_map(rusqlite::params_from_iter(params), |row| {
                            (0..select.fields.len())
                                .map(|i| row.get::<_, Option<String>>(i))
                                .collect()
                        })
                        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                        .map_err(|e| {
                            ConnectError::new(format!(
                                "dataset `{}`: reading {table} failed: {e}",
                                select.dataset.key
                            ))
                        })?;
                    out.extend(rows);
                }
                Ok(out)
            }
        }
    }
}

/// One row to change, found by the values its key columns were read with (`None` is NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowChange {
    pub key: Vec<(String, Option<String>)>,
    /// The columns to set; `None` deletes the row.
    pub set: Option<Vec<(String, Option<String>)>>,
}

impl RowChange {
    /// The DELETE or UPDATE that makes this change to `target`, with identifiers quoted by
    /// `quote` and each value's placeholder from `mark` (which keeps the value to bind).
    pub(crate) fn statement(
        &self,
        target: &str,
        quote: fn(&str) -> String,
        mut mark: impl FnMut(&str, &str) -> String,
    ) -> String {
        let set: Option<Vec<String>> = self.set.as_ref().map(|set| {
            set.iter()
                .map(|(c, v)| match v {
                    None => format!("{} = NULL", quote(c)),
                    Some(v) => format!("{} = {}", quote(c), mark(c, v)),
                })
                .collect()
        });
        let filter: Vec<String> = self
            .key
            .iter()
            .map(|(c, v)| match v {
                None => format!("{} IS NULL", quote(c)),
                Some(v) => format!("{} = {}", quote(c), mark(c, v)),
            })
            .collect();
        match set {
            None => format!("DELETE FROM {target} WHERE {}", filter.join(" AND ")),
            Some(set) => format!(
                "UPDATE {target} SET {} WHERE {}",
                set.join(", "),
                filter.join(" AND ")
            ),
        }
    }
}

/// The changes to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableChanges {
    pub table: String,
    pub rows: Vec<RowChange>,
}

/// What applying did to one table: rows deleted and rows updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub deleted: u64,
    pub updated: u64,
}

/// The order to change tables in so that no foreign key is broken on the way: a table whose
/// rows refer to another's goes first, and `erase_after` (collection → the ones to erase before
/// it) is kept. Ties keep the order given; a cycle leaves its tables in the order given.
pub fn erase_order(
    tables: &[String],
    references: &[(String, String)],
    erase_after: &[(String, String)],
) -> Vec<String> {
    // before[a] = tables that must be changed before a.
    let mut before: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (child, parent) in references {
        if child != parent && tables.contains(child) && tables.contains(parent) {
            before
                .entry(parent.as_str())
                .or_default()
                .push(child.as_str());
        }
    }
    for (table, first) in erase_after {
        if tables.contains(table) && tables.contains(first) {
            before
                .entry(table.as_str())
                .or_default()
                .push(first.as_str());
        }
    }
    let mut done: Vec<String> = Vec::new();
    let mut left: Vec<&String> = tables.iter().collect();
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            before
                .get(t.as_str())
                .is_none_or(|firsts| firsts.iter().all(|f| done.iter().any(|d| d == f)))
        });
        // A cycle: take the first left, as given.
        let next = left.remove(ready.unwrap_or(0));
        done.push(next.clone());
    }
    done
}

impl Database {
    /// Foreign keys between tables of this connection, as (referring table, referred table).
    pub fn foreign_keys(&mut self) -> Result<Vec<(String, String)>, ConnectError> {
        match self {
            Database::Mysql { conn, schema, .. } => {
                crate::mariadb::foreign_keys(conn, schema.as_deref())
            }
            Database::Postgres { client, schema, .. } => {
                let rows = client
                    .query(
                        "SELECT c.relname, p.relname
                           FROM pg_constraint k
                           JOIN pg_class c ON k.conrelid = c.oid
                           JOIN pg_class p ON k.confrelid = p.oid
                           JOIN pg_namespace n ON c.relnamespace = n.oid
                          WHERE k.contype = 'f' AND n.nspname = $1",
                        &[&*schema],
                    )
                    .map_err(|e| {
                        ConnectError::new(format!("while reading foreign keys: {}", plain(&e)))
                    })?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            }
            Database::Sqlite { connection, .. } => {
                let mut statement = connection
                    .prepare(
                        "SELECT m.name, f.\"table\" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
                    )
                    .map_err(|e| ConnectError::new(format!("while reading foreign keys: {e}")))?;
                statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .and_then(|rows| rows.collect())
                    .map_err(|e| ConnectError::new(format!("while reading foreign keys: {e}")))
            }
        }
    }

    /// Applies every change in one transaction, tables in the order given: all of it, or
    /// (on any error) none of it.
    pub fn apply(
        &mut self,
        dataset: &str,
        changes: &[TableChanges],
    ) -> Result<Vec<(String, Applied)>, ConnectError> {
        let mut types: BTreeMap<String, Columns> = BTreeMap::new();
        for table in changes {
            let columns = self.columns(&table.table)?.ok_or_else(|| {
                ConnectError::new(format!(
                    "dataset `{dataset}`: table {} does not exist",
                    table.table
                ))
            })?;
            for row in &table.rows {
                for (name, _) in row.key.iter().chain(row.set.iter().flatten()) {
                    if !columns.contains_key(name) {
                        return Err(ConnectError::new(format!(
                            "dataset `{dataset}`: table {} has no column {name}; nothing was changed",
                            table.table
                        )));
                    }
                }
            }
            types.insert(table.table.clone(), columns);
        }
        let failed = |table: &str, e: &dyn std::fmt::Display| {
            ConnectError::new(format!(
                "dataset `{dataset}`: changing {table} failed ({e}); nothing in this database was changed"
            ))
        };
        let mut out = Vec::new();
        match self {
            Database::Mysql { conn, .. } => {
                out = crate::mariadb::apply(conn, dataset, changes)?;
            }
            Database::Postgres { client, schema, .. } => {
                let mut tx = client
                    .transaction()
                    .map_err(|e| failed("the database", &plain(&e)))?;
                for table in changes {
                    let columns = &types[&table.table];
                    let mut applied = Applied::default();
                    for row in &table.rows {
                        let mut params: Vec<String> = Vec::new();
                        let target = format!("{}.{}", quote(schema), quote(&table.table));
                        let sql = row.statement(&target, quote, |column, value| {
                            params.push(value.to_owned());
                            format!("${}::text::{}", params.len(), columns[column].kind)
                        });
                        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                            .iter()
                            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                            .collect();
                        let n = tx
                            .execute(&sql, &refs)
                            .map_err(|e| failed(&table.table, &plain(&e)))?;
                        if row.set.is_some() {
                            applied.updated += n;
                        } else {
                            applied.deleted += n;
                        }
                    }
                    out.push((table.table.clone(), applied));
                }
                tx.commit()
                    .map_err(|e| failed("the database", &plain(&e)))?;
            }
            Database::Sqlite { connection, .. } => {
                let tx = connection
                    .transaction()
                    .map_err(|e| failed("the database", &e))?;
                for table in changes {
                    let mut applied = Applied::default();
                    for row in &table.rows {
                        let mut params: Vec<String> = Vec::new();
                        let sql = row.statement(&quote(&table.table), quote, |_, value| {
                            params.push(value.to_owned());
                            "?".into()
                        });
                        let n = tx
                            .execute(&sql, rusqlite::params_from_iter(params.iter()))
                            .map_err(|e| failed(&table.table, &e))?;
                        let n = n as u64;
                        if row.set.is_some() {
                            applied.updated += n;
                        } else {
                            applied.deleted += n;
                        }
                    }
                    out.push((table.table.clone(), applied));
                }
                tx.commit().map_err(|e| failed("the database", &e))?;
            }
        }
        Ok(out)
    }
}

/// What retention does to a table's expired rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expiry {
    /// The rows go.
    Delete,
    /// These columns are emptied (set to NULL); the rows stay.
    Anonymise(Vec<String>),
}

/// The rows of a table whose date column falls before a cutoff, for retention.
#[derive(Debug, Clone)]
pub struct Expired<'a> {
    pub table: &'a str,
    /// The date or time column retention counts from.
    pub column: &'a str,
    /// Rows dated before this are past their retention. Columns without a time zone are read
    /// as UTC; date columns as the start of their day.
    pub before: jiff::Timestamp,
    /// Later spans `[from, to)` whose rows are past their retention too: a period that ends on
    /// the last day of a shorter month (a year after 29 February ends on 28 February) lets
    /// rows of the days that clamp go before some of the days just before them.
    pub also: &'a [(jiff::Timestamp, jiff::Timestamp)],
    /// A shared database's tenant column and the values whose rows may go.
    pub scope: Option<(&'a str, &'a [String])>,
}

impl Expired<'_> {
    /// An instant as text the column compares with (`column >= it` and `column < it` then
    /// hold for the same rows as for the instant), or why the column cannot be compared.
    fn bound(&self, column: &Column, at: jiff::Timestamp) -> Result<String, String> {
        let kind = column.kind.to_ascii_lowercase();
        let utc = at.to_zoned(jiff::tz::TimeZone::UTC);
        if kind.contains("with time zone") {
            Ok(utc.strftime("%Y-%m-%d %H:%M:%S+00").to_string())
        } else if kind.contains("time") || kind == "text" || kind.contains("char") {
            Ok(utc.strftime("%Y-%m-%d %H:%M:%S").to_string())
        } else if kind.contains("date") {
            // A row dated on the bound's day is counted from that day's start, which is
            // before the bound only when the bound is not midnight: round up to the next day.
            let day = utc.date();
            let day = if utc.time() == jiff::civil::Time::midnight() {
                day
            } else {
                day.tomorrow().map_err(|e| e.to_string())?
            };
            Ok(day.to_string())
        } else {
            Err(format!(
                "column {} is {}, not a date or time: retention cannot count from it",
                self.column, column.kind
            ))
        }
    }
}

impl Database {
    /// How many rows are past the cutoff.
    pub fn count_expired(&mut self, expired: &Expired<'_>) -> Result<u64, ConnectError> {
        let (sql, params) = self.expired_where(expired)?;
        let table = expired.table;
        match self {
            Database::Mysql { conn, .. } => {
                crate::mariadb::count_expired(conn, table, &sql, &params)
            }
            Database::Postgres { client, schema, .. } => {
                let sql = format!(
                    "SELECT count(*) FROM {}.{} WHERE {sql}",
                    quote(schema),
                    quote(table)
                );
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let row = client
                    .query_one(&sql, &refs)
                    .map_err(|e| ConnectError::new(format!("counting {table}: {}", plain(&e))))?;
                Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
            }
            Database::Sqlite { connection, .. } => {
                let sql = format!("SELECT count(*) FROM {} WHERE {sql}", quote(table));
                connection
                    .query_row(&sql, rusqlite::params_from_iter(params.iter()), |r| {
                        r.get::<_, i64>(0)
                    })
                    .map(|n| u64::try_from(n).unwrap_or(0))
                    .map_err(|e| ConnectError::new(format!("counting {table}: {e}")))
            }
        }
    }

    /// The condition (and its parameters, as text) of rows past the cutoff, in this
    /// database's dialect.
    fn expired_where(
        &mut self,
        expired: &Expired<'_>,
    ) -> Result<(String, Vec<String>), ConnectError> {
        let columns = self
            .columns(expired.table)?
            .ok_or_else(|| ConnectError::new(format!("table {} does not exist", expired.table)))?;
        let column = columns.get(expired.column).ok_or_else(|| {
            ConnectError::new(format!(
                "table {} has no column {}",
                expired.table, expired.column
            ))
        })?;
        let (postgres, text, quote): (bool, &str, fn(&str) -> String) = match self {
            Database::Postgres { .. } => (true, "text", quote),
            Database::Mysql { .. } => (false, "CHAR", crate::mariadb::quote),
            Database::Sqlite { .. } => (false, "TEXT", quote),
        };
        let mut params: Vec<String> = Vec::new();
        // A placeholder for the next parameter, cast to the column's type where the
        // database wants it.
        let mut mark = |value: String, typed: bool| {
            params.push(value);
            match (postgres, typed) {
                (true, true) => format!("${}::text::{}", params.len(), column.kind),
                (true, false) => format!("${}", params.len()),
                (false, _) => "?".to_owned(),
            }
        };
        let bound = |at| expired.bound(column, at).map_err(ConnectError::new);
        let name = quote(expired.column);
        let mut spans = vec![format!("{name} < {}", mark(bound(expired.before)?, true))];
        for (from, to) in expired.also {
            spans.push(format!(
                "({name} >= {} AND {name} < {})",
                mark(bound(*from)?, true),
                mark(bound(*to)?, true)
            ));
        }
        let mut sql = if spans.len() == 1 {
            spans.remove(0)
        } else {
            format!("({})", spans.join(" OR "))
        };
        if let Some((scope, values)) = expired.scope {
            if !columns.contains_key(scope) {
                return Err(ConnectError::new(format!(
                    "table {} has no column {scope}",
                    expired.table
                )));
            }
            let marks: Vec<String> = values.iter().map(|v| mark(v.clone(), false)).collect();
            sql.push_str(&format!(
                " AND CAST({} AS {text}) IN ({})",
                quote(scope),
                marks.join(", ")
            ));
        }
        Ok((sql, params))
    }

    /// Removes (or anonymises) the rows past the cutoff in batches of `batch`, each its own
    /// transaction so that the application's writes wait at most one batch; returns how many.
    pub fn expire(
        &mut self,
        expired: &Expired<'_>,
        expiry: &Expiry,
        batch: usize,
    ) -> Result<u64, ConnectError> {
        let (condition, params) = self.expired_where(expired)?;
        let table = expired.table;
        let mut total = 0u64;
        loop {
            let n = match self {
                Database::Mysql { conn, .. } => {
                    crate::mariadb::expire_batch(conn, table, &condition, &params, expiry, batch)?
                }
                Database::Postgres { client, schema, .. } => {
                    let target = format!("{}.{}", quote(schema), quote(table));
                    let sql = match expiry {
                        Expiry::Delete => format!(
                            "DELETE FROM {target} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {target} WHERE {condition} LIMIT {batch}))"
                        ),
                        Expiry::Anonymise(fields) => format!(
                            "UPDATE {target} SET {} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {target} WHERE {condition} AND NOT ({}) LIMIT {batch}))",
                            fields
                                .iter()
                                .map(|f| format!("{} = NULL", quote(f)))
                                .collect::<Vec<_>>()
                                .join(", "),
                            fields
                                .iter()
                                .map(|f| format!("{} IS NULL", quote(f)))
                                .collect::<Vec<_>>()
                                .join(" AND ")
                        ),
                    };
                    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                        .iter()
                        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                        .collect();
                    client.execute(&sql, &refs).map_err(|e| {
                        ConnectError::new(format!(
                            "removing expired rows of {table}: {}",
                            plain(&e)
                        ))
                    })?
                }
                Database::Sqlite { connection, .. } => {
                    let target = quote(table);
                    let sql = match expiry {
                        Expiry::Delete => format!(
                            "DELETE FROM {target} WHERE rowid IN (SELECT rowid FROM {target} WHERE {condition} LIMIT {batch})"
                        ),
                        Expiry::Anonymise(fields) => format!(
                            "UPDATE {target} SET {} WHERE rowid IN (SELECT rowid FROM {target} WHERE {condition} AND NOT ({}) LIMIT {batch})",
                            fields
                                .iter()
                                .map(|f| format!("{} = NULL", quote(f)))
                                .collect::<Vec<_>>()
                                .join(", "),
                            fields
                                .iter()
                                .map(|f| format!("{} IS NULL", quote(f)))
                                .collect::<Vec<_>>()
                                .join(" AND ")
                        ),
                    };
                    connection
                        .execute(&sql, rusqlite::params_from_iter(params.iter()))
                        .map(|n| n as u64)
                        .map_err(|e| {
                            ConnectError::new(format!("removing expired rows of {table}: {e}"))
                        })?
                }
            };
            total += n;
            if n < batch as u64 {
                return Ok(total);
            }
        }
    }
}

/// A table as the database describes it, for a first dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    pub name: String,
    /// Column names in the table's order.
    pub columns: Vec<String>,
    pub primary_key: Vec<String>,
    /// Single-column foreign keys: (column, referenced table, referenced column).
    pub references: Vec<(String, String, String)>,
}

impl Database {
    /// Every table of the connection's schema with its columns, primary key and foreign keys.
    pub fn schema(&mut self) -> Result<Vec<TableSchema>, ConnectError> {
        let failed =
            |e: &dyn std::fmt::Display| ConnectError::new(format!("while reading the schema: {e}"));
        let mut tables: Vec<TableSchema> = Vec::new();
        match self {
            Database::Postgres { client, schema, .. } => {
                let rows = client
                    .query(
                        "SELECT c.relname, a.attname,
                                COALESCE(a.attnum = ANY(i.indkey), false)
                           FROM pg_class c
                           JOIN pg_namespace n ON c.relnamespace = n.oid
                           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                           LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
                          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
                          ORDER BY c.relname, a.attnum",
                        &[&*schema],
                    )
                    .map_err(|e| failed(&plain(&e)))?;
                for row in rows {
                    let (table, column, pk): (String, String, bool) =
                        (row.get(0), row.get(1), row.get(2));
                    push_column(&mut tables, &table, column, pk);
                }
                let keys = client
                    .query(
                        "SELECT c.relname, a.attname, p.relname, pa.attname
                           FROM pg_constraint k
                           JOIN pg_class c ON k.conrelid = c.oid
                           JOIN pg_class p ON k.confrelid = p.oid
                           JOIN pg_namespace n ON c.relnamespace = n.oid
                           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
                           JOIN pg_attribute pa ON pa.attrelid = p.oid AND pa.attnum = k.confkey[1]
                          WHERE k.contype = 'f' AND n.nspname = $1 AND array_length(k.conkey, 1) = 1",
                        &[&*schema],
                    )
                    .map_err(|e| failed(&plain(&e)))?;
                for key in keys {
                    push_reference(&mut tables, key.get(0), key.get(1), key.get(2), key.get(3));
                }
            }
            Database::Sqlite { connection, .. } => {
                let mut statement = connection
                    .prepare(
                        "SELECT m.name, c.name, c.pk FROM sqlite_schema m, pragma_table_info(m.name) c
                          WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, c.cid",
                    )
                    .map_err(|e| failed(&e))?;
                let rows: Vec<(String, String, i64)> = statement
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .and_then(|rows| rows.collect())
                    .map_err(|e| failed(&e))?;
                for (table, column, pk) in rows {
                    push_column(&mut tables, &table, column, pk > 0);
                }
                let mut statement = connection
                    .prepare(
                        "SELECT m.name, f.\"from\", f.\"table\", f.\"to\" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
                          WHERE m.type = 'table'",
                    )
                    .map_err(|e| failed(&e))?;
                let keys: Vec<(String, String, String, Option<String>)> = statement
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .and_then(|rows| rows.collect())
                    .map_err(|e| failed(&e))?;
                for (table, column, parent, to) in keys {
                    // A key naming no column refers to the parent's primary key.
                    let to = to.or_else(|| {
                        tables
                            .iter()
                            .find(|t| t.name == parent)
                            .and_then(|t| t.primary_key.first().cloned())
                    });
                    if let Some(to) = to {
                        push_reference(&mut tables, table, column, parent, to);
                    }
                }
            }
            Database::Mysql { conn, schema, .. } => {
                let (columns, keys) = crate::mariadb::schema(conn, schema.as_deref())?;
                for (table, column, pk) in columns {
                    push_column(&mut tables, &table, column, pk);
                }
                for (table, column, parent, to) in keys {
                    push_reference(&mut tables, table, column, parent, to);
                }
            }
        }
        Ok(tables)
    }
}

fn push_column(tables: &mut Vec<TableSchema>, table: &str, column: String, pk: bool) {
    if tables.last().is_none_or(|t| t.name != table) {
        tables.push(TableSchema {
            name: table.to_owned(),
            columns: vec![],
            primary_key: vec![],
            references: vec![],
        });
    }
    if let Some(last) = tables.last_mut() {
        if pk {
            last.primary_key.push(column.clone());
        }
        last.columns.push(column);
    }
}

fn push_reference(
    tables: &mut [TableSchema],
    table: String,
    column: String,
    parent: String,
    to: String,
) {
    if let Some(found) = tables.iter_mut().find(|t| t.name == table) {
        found.references.push((column, parent, to));
    }
}

impl Database {
    /// Up to `limit` rows of `table`, each column read as text (`None` for NULL), for
    /// discovery. PostgreSQL samples pages spread over the table (`TABLESAMPLE SYSTEM`) once
    /// its statistics say it is much larger than the sample; the others read the first rows.
    /// Errors name the table, never a value.
    pub fn sample(
        &mut self,
        table: &str,
        columns: &[String],
        limit: usize,
    ) -> Result<Vec<Vec<Option<String>>>, ConnectError> {
        let failed = |e: &dyn std::fmt::Display| {
            ConnectError::new(format!("while sampling table {table}: {e}"))
        };
        if columns.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX);
        match self {
            Database::Postgres { client, schema, .. } => {
                let estimate: f64 = client
                    .query_opt(
                        "SELECT c.reltuples::float8 FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid
                          WHERE n.nspname = $1 AND c.relname = $2",
                        &[&*schema, &table],
                    )
                    .map_err(|e| failed(&plain(&e)))?
                    .map(|row| row.get(0))
                    .unwrap_or(-1.0);
                let list: Vec<String> = columns
                    .iter()
                    .map(|c| format!("CAST({} AS text)", quote(c)))
                    .collect();
                // Three times the share the sample needs, as pages hold rows unevenly.
                let sampling = if estimate > (limit as f64) * 10.0 {
                    let percent = (300.0 * limit as f64 / estimate).clamp(0.0001, 100.0);
                    format!(" TABLESAMPLE SYSTEM ({percent})")
                } else {
                    String::new()
                };
                let read = |client: &mut postgres::Client, sampling: &str| {
                    let sql = format!(
                        "SELECT {} FROM {}.{}{sampling} LIMIT {limit_sql}",
                        list.join(", "),
                        quote(schema),
                        quote(table)
                    );
                    client
                        .query(&sql, &[])
                        .map(|rows| {
                            rows.iter()
                                .map(|row| (0..columns.len()).map(|i| row.get(i)).collect())
                                .collect::<Vec<Vec<Option<String>>>>()
                        })
                        .map_err(|e| failed(&plain(&e)))
                };
                let rows = read(client, &sampling)?;
                // Pages are drawn at random: an unlucky draw (or stale statistics) can bring
                // back too few rows to judge a column by, and then the first rows serve.
                if !sampling.is_empty() && rows.len() < limit / 2 {
                    return read(client, "");
                }
                Ok(rows)
            }
            Database::Sqlite { connection, .. } => {
                let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
                let sql = format!(
                    "SELECT {} FROM {} LIMIT {limit_sql}",
                    list.join(", "),
                    quote(table)
                );
                let mut statement = connection.prepare(&sql).map_err(|e| failed(&e))?;
                let rows = statement
                    .query_map([], |row| {
                        (0..columns.len())
                            .map(|i| {
                                Ok(match row.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => None,
                                    rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                                    rusqlite::types::ValueRef::Real(x) => Some(x.to_string()),
                                    rusqlite::types::ValueRef::Text(t) => {
                                        Some(String::from_utf8_lossy(t).into_owned())
                                    }
                                    // Bytes are no text a detector could read.
                                    rusqlite::types::ValueRef::Blob(_) => None,
                                })
                            })
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                    .map_err(|e| failed(&e))?;
                Ok(rows)
            }
            Database::Mysql { conn, schema, .. } => {
                crate::mariadb::sample(conn, schema.as_deref(), table, columns, limit)
            }
        }
    }
}
