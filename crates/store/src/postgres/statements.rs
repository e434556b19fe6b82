//! Statements prepared once per connection. Given SQL text, the `postgres` crate prepares it
//! (a round trip: parse and describe) before every execution, then closes it; the store's
//! calls are a fixed set of texts, so each pooled connection keeps what it prepared and every
//! later call is one round trip, planned from a plan the server may keep.

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, GenericClient, NoTls, Row, RowIter, Statement};
use std::collections::HashMap;

/// Statements a connection keeps at most. The store's texts are far fewer (the audit filter
/// composes a few dozen more); the bound only guards against a text built from values.
const MOST: usize = 512;

/// The statements one server session has prepared. Prepared statements belong to the session,
/// not to a transaction: one prepared in a transaction that rolled back stays valid.
#[derive(Default)]
pub(super) struct Prepared {
    untyped: HashMap<String, Statement>,
    /// Prepared with the parameter types the caller named (the server infers none).
    typed: HashMap<String, (Vec<Type>, Statement)>,
}

impl Prepared {
    fn get(
        &mut self, client: &mut impl GenericClient, sql: &str,
    ) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.untyped.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.make_room();
        self.untyped.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// The statement for `sql` with the parameter types `params` name; the types are
    /// compared in place, so a call that finds its statement allocates nothing for them.
    fn get_typed(
        &mut self, client: &mut impl GenericClient, sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Statement, postgres::Error> {
        if let Some((known, statement)) = self.typed.get(sql)
            && known.iter().eq(params.iter().map(|(_, t)| t))
        {
            return Ok(statement.clone());
        }
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let statement = client.prepare_typed(sql, &types)?;
        self.make_room();
        self.typed
            .insert(sql.to_owned(), (types, statement.clone()));
        Ok(statement)
    }

    fn make_room(&mut self) {
        if self.untyped.len() + self.typed.len() >= MOST {
            self.clear();
        }
    }

    fn clear(&mut self) {
        self.untyped.clear();
        self.typed.clear();
    }

    /// Forgets every statement after an error that says the session no longer has them or
    /// that a table changed shape under them (another replica migrated): the next call
    /// prepares again instead of failing for the rest of the connection's life.
    fn after(&mut self, error: &postgres::Error) {
        use postgres::error::SqlState;
        if let Some(code) = error.code()
            && (*code == SqlState::INVALID_SQL_STATEMENT_NAME
                || *code == SqlState::FEATURE_NOT_SUPPORTED)
        {
            self.clear();
        }
    }
}

/// A pooled connection: the session and what it prepared.
pub(super) struct Connection {
    client: Client,
    prepared: Prepared,
}

impl Connection {
    /// The connection for reads outside a transaction of the caller's.
    pub(super) fn db(&mut self) -> Db<'_> {
        Db {
            client: &mut self.client,
            prepared: &mut self.prepared,
        }
    }

    pub(super) fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        Ok(Tx {
            tx: self.client.transaction()?,
            prepared: &mut self.prepared,
        })
    }
}

/// Opens sessions for the pool.
pub(super) struct Manager(pub(super) Config);

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.0.connect(NoTls)?,
            prepared: Prepared::default(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

/// The calls the store makes, through the connection's prepared statements.
pub(super) trait Sql {
    type Client: GenericClient;
    fn parts(&mut self) -> (&mut Self::Client, &mut Prepared);

    /// Runs `run` on the statement `prepare` finds or prepares; an error that says the
    /// session's statements are no longer good forgets them.
    fn through<R>(
        &mut self,
        prepare: impl FnOnce(&mut Prepared, &mut Self::Client) -> Result<Statement, postgres::Error>,
        run: impl FnOnce(&mut Self::Client, &Statement) -> Result<R, postgres::Error>,
    ) -> Result<R, postgres::Error> {
        let (client, prepared) = self.parts();
        let done = prepare(prepared, client).and_then(|statement| run(client, &statement));
        if let Err(error) = &done {
            prepared.after(error);
        }
        done
    }

    /// Runs `run` on the statement prepared for `sql` (preparing it the first time).
    fn cached<R>(
        &mut self, sql: &str,
        run: impl FnOnce(&mut Self::Client, &Statement) -> Result<R, postgres::Error>,
    ) -> Result<R, postgres::Error> {
        self.through(|prepared, client| prepared.get(client, sql), run)
    }

    fn execute(
        &mut self, sql: &str, params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        self.cached(sql, |client, statement| client.execute(statement, params))
    }

    fn query(
        &mut self, sql: &str, params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        self.cached(sql, |client, statement| client.query(statement, params))
    }

    fn query_opt(
        &mut self, sql: &str, params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        self.cached(sql, |client, statement| client.query_opt(statement, params))
    }

    fn query_one(
        &mut self, sql: &str, params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, postgres::Error> {
        self.cached(sql, |client, statement| client.query_one(statement, params))
    }

    /// For statements whose parameters' types the server cannot infer (arrays for `unnest`,
    /// say), or should not.
    fn query_typed(
        &mut self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        self.through(
            |prepared, client| prepared.get_typed(client, sql, params),
            |client, statement| client.query(statement, &values),
        )
    }

    fn query_typed_opt(
        &mut self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Option<Row>, postgres::Error> {
        let mut rows = self.query_typed(sql, params)?;
        Ok(if rows.is_empty() {
            None
        } else {
            Some(rows.swap_remove(0))
        })
    }

    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.parts().0.batch_execute(sql)
    }
}

/// A connection outside any transaction of the caller's.
pub(super) struct Db<'a> {
    client: &'a mut Client,
    prepared: &'a mut Prepared,
}

impl Sql for Db<'_> {
    type Client = Client;
    fn parts(&mut self) -> (&mut Client, &mut Prepared) {
        (self.client, self.prepared)
    }
}

impl Db<'_> {
    /// A read-only transaction that sees one snapshot for all its statements.
    pub(super) fn snapshot(&mut self) -> Result<Tx<'_>, postgres::Error> {
        Ok(Tx {
            tx: self
                .client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?,
            prepared: self.prepared,
        })
    }
}

/// A transaction on a pooled connection.
pub(super) struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    prepared: &'a mut Prepared,
}

impl<'a> Sql for Tx<'a> {
    type Client = postgres::Transaction<'a>;
    fn parts(&mut self) -> (&mut postgres::Transaction<'a>, &mut Prepared) {
        (&mut self.tx, self.prepared)
    }
}

impl Tx<'_> {
    pub(super) fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }

    /// A savepoint: dropped without `commit`, it rolls back alone.
    pub(super) fn savepoint(&mut self, name: &str) -> Result<Tx<'_>, postgres::Error> {
        Ok(Tx {
            tx: self.tx.savepoint(name)?,
            prepared: self.prepared,
        })
    }

    /// Rows one at a time, for results too large to hold.
    pub(super) fn query_raw<P, I>(
        &mut self, sql: &str, params: I,
    ) -> Result<impl FallibleIterator<Item = Row, Error = postgres::Error> + '_, postgres::Error>
    where
        P: postgres::types::BorrowToSql,
        I: IntoIterator<Item = P>,
        I::IntoIter: ExactSizeIterator,
    {
        let prepared = &mut *self.prepared;
        let statement = prepared
            .get(&mut self.tx, sql)
            .inspect_err(|e| prepared.after(e))?;
        let rows: RowIter<'_> = self
            .tx
            .query_raw(&statement, params)
            .inspect_err(|e| prepared.after(e))?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2d2::ManageConnection;

    /// A session of the test server, or `None` (said aloud) without `OMBUD_TEST_POSTGRES_URL`;
    /// under CI, which sets the marker variable, a missing URL fails instead.
    fn connection() -> Option<Connection> {
        let url = match std::env::var("OMBUD_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var_os("OMBUD_TEST_POSTGRES_MARKER").is_none(),
                    "CI expects the PostgreSQL tests to run: set OMBUD_TEST_POSTGRES_URL"
                );
                eprintln!("OMBUD_TEST_POSTGRES_URL is not set: the PostgreSQL case did not run");
                return None;
            }
        };
        Some(
            Manager(url.parse().expect("a valid URL"))
                .connect()
                .expect("connects"),
        )
    }

    /// Statements the session holds, counted by a simple query (which prepares nothing).
    fn held(conn: &mut Connection) -> i64 {
        conn.client
            .simple_query("SELECT count(*) FROM pg_prepared_statements")
            .expect("reads the session's statements")
            .iter()
            .find_map(|message| match message {
                postgres::SimpleQueryMessage::Row(row) => row.get(0)?.parse().ok(),
                _ => None,
            })
            .expect("a count")
    }

    #[test]
    fn a_text_is_prepared_once_per_session_in_and_out_of_transactions() {
        let Some(mut conn) = connection() else {
            return;
        };
        for n in 0..3 {
            let row = conn
                .db()
                .query_one("SELECT $1::int4 + 1", &[&n])
                .expect("runs");
            assert_eq!(row.get::<_, i32>(0), n + 1);
        }
        let mut tx = conn.transaction().expect("begins");
        assert_eq!(
            tx.query("SELECT $1::int4 + 1", &[&7]).expect("runs")[0].get::<_, i32>(0),
            8
        );
        tx.execute("SELECT $1::text", &[&"x"]).expect("runs");
        for _ in 0..2 {
            tx.query_typed("SELECT $1", &[(&5_i64, Type::INT8)])
                .expect("runs typed");
        }
        tx.commit().expect("commits");
        assert_eq!(held(&mut conn), 3, "three texts, each prepared once");
    }

    #[test]
    fn a_statement_prepared_in_a_transaction_that_rolled_back_still_serves() {
        let Some(mut conn) = connection() else {
            return;
        };
        {
            let mut tx = conn.transaction().expect("begins");
            tx.query_one("SELECT $1::int8 * 2", &[&21_i64])
                .expect("runs");
            // Dropped without commit: rolled back.
        }
        let row = conn
            .db()
            .query_one("SELECT $1::int8 * 2", &[&4_i64])
            .expect("the statement outlived the transaction");
        assert_eq!(row.get::<_, i64>(0), 8);
        assert_eq!(held(&mut conn), 1);
    }

    #[test]
    fn a_session_that_lost_its_statements_prepares_them_again() {
        let Some(mut conn) = connection() else {
            return;
        };
        conn.db().query_one("SELECT $1::int4", &[&1]).expect("runs");
        // What a pooler that swaps sessions, or a DISCARD, leaves behind.
        conn.db()
            .batch_execute("DEALLOCATE ALL")
            .expect("deallocates");
        let lost = conn.db().query_one("SELECT $1::int4", &[&2]);
        assert!(lost.is_err(), "the statement is gone from the session");
        let row = conn
            .db()
            .query_one("SELECT $1::int4", &[&3])
            .expect("prepared again");
        assert_eq!(row.get::<_, i32>(0), 3);
    }

    #[test]
    fn a_table_that_changed_shape_under_a_statement_is_read_again() {
        let Some(mut conn) = connection() else {
            return;
        };
        let mut db = conn.db();
        db.batch_execute("CREATE TEMPORARY TABLE shaped (a int4); INSERT INTO shaped VALUES (1)")
            .expect("creates");
        assert_eq!(
            db.query("SELECT * FROM shaped", &[]).expect("reads")[0].len(),
            1
        );
        // Another replica's migration adds a column.
        db.batch_execute("ALTER TABLE shaped ADD COLUMN b int4")
            .expect("alters");
        assert!(
            db.query("SELECT * FROM shaped", &[]).is_err(),
            "the server refuses the old statement's shape"
        );
        let rows = db
            .query("SELECT * FROM shaped", &[])
            .expect("prepared again for the new shape");
        assert_eq!(rows[0].len(), 2);
    }
}
