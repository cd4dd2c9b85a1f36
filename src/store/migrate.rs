//! The schema, versioned: the one set of migrations in `migrations/` (embedded in the binary),
//! rendered for the engine and applied by sqlx's migrator, each in its own transaction, under
//! PostgreSQL's advisory lock so that two processes starting together do not both migrate.
//! A database that records a version this build does not know is refused.

use std::borrow::Cow;

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;

use super::dialect::Engine;
use super::error::{StoreError, StoreResult};

/// The migrations, in order: version, name, SQL.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "core", include_str!("../../migrations/0001_core.sql")),
    (
        2,
        "jobs cursors heads",
        include_str!("../../migrations/0002_jobs_cursors_heads.sql"),
    ),
    (
        3,
        "similar groups",
        include_str!("../../migrations/0003_similar_groups.sql"),
    ),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The migrations rendered for one engine, up to a version.
#[derive(Debug)]
struct Rendered {
    engine: Engine,
    up_to: i64,
}

impl<'s> MigrationSource<'s> for Rendered {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .filter(|(v, _, _)| *v <= self.up_to)
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        Cow::Owned(self.engine.render_migration(sql)),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Bring the schema to `up_to` (the newest when `None`).
///
/// SQLite has no advisory lock: two processes opening a new file at once (a desk and an ingest
/// started together) can both read "not applied" and the second one's CREATE TABLE then fails
/// once the first has committed. Each migration is its own transaction, so nothing is half
/// done: the loser reads the applied versions again and carries on from there.
pub(crate) async fn run(pool: &AnyPool, engine: Engine, up_to: Option<i64>) -> StoreResult<()> {
    const SQLITE_ATTEMPTS: u32 = 5;
    let up_to = up_to.unwrap_or(SCHEMA_VERSION);
    let migrator = Migrator::new(Rendered { engine, up_to })
        .await
        .map_err(|source| StoreError::Migrate { source })?;
    let mut attempt = 1;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if engine == Engine::Sqlite && attempt < SQLITE_ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "schema migration raced another process; again");
                tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt)))
                    .await;
                attempt += 1;
            }
            Err(source) => return Err(StoreError::Migrate { source }),
        }
    }
}
