//! Group commit. SQLite has one writer at a time; many connections that each `BEGIN
//! IMMEDIATE` spend their time in the busy handler's sleeps. Instead, one thread takes
//! write jobs from a queue and runs as many as are waiting (up to `MAX_BATCH`) in one
//! transaction, each inside its own savepoint, so one job's error rolls back that job
//! only. Every caller is answered after the commit: an acknowledged write survives a
//! crash of the process. (On SQLite, with `synchronous = NORMAL`, a power loss can still
//! take the commits made since the last checkpoint; PostgreSQL syncs every commit.)
//!
//! A job started with [`Writer::write_deferring`] may leave rows for the end of its batch
//! (`orders::deferred`): [`Deferred::flush`] writes them, as one multi-row insert per
//! table, before any other job of the batch runs and before the commit. A job that
//! defers must have checked everything that could refuse it before it defers anything.
//!
//! On PostgreSQL, which has row locks and many writers, plain jobs run on the pool as
//! they come, and only deferring jobs (order placements) are batched, by [`PG_WRITERS`]
//! threads per instance (a job goes to the thread of the lowest row it claims): a batch is one commit and a handful of multi-row statements instead of a
//! transaction per order, and a hot SKU's row lock is taken once per batch instead of
//! once per order. A batch holds its rows' locks until it commits, so two instances'
//! batches could wait on each other: each deferring job names the rows it will lock
//! (its SKUs), and [`Deferred::claim`] locks all of a batch's in one order before any job
//! runs.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, mpsc};

use super::{Backend, DbConn, Pool, write_tx};

pub const MAX_BATCH: usize = 64;

/// A batch that takes this long is logged as a warning, with where its time went: every
/// placement in it waited that long for its answer.
const SLOW_BATCH: std::time::Duration = std::time::Duration::from_millis(100);

/// Writer threads on PostgreSQL, each with its own connection and batches. Jobs go to a
/// thread by the lowest row they claim.
pub const PG_WRITERS: usize = 2;

/// A write could not be committed (the database is unavailable, or the disk is full).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the write was not committed: {0}")]
pub struct WriteError(pub String);

trait Task: Send {
    fn run(self: Box<Self>, conn: &mut DbConn, savepoints: &mut Savepoints) -> Box<dyn Done>;
    fn fail(self: Box<Self>, why: String);
    /// Whether this job may run while rows deferred by earlier jobs are not written yet.
    fn defers(&self) -> bool;
    /// The rows this job will lock, for [`Deferred::claim`].
    fn claims(&self) -> &[i64];
}

/// Rows that jobs of a batch leave for its end: written before a job that does not
/// defer and before the commit, dropped when the batch fails.
#[derive(Clone, Copy)]
pub struct Deferred {
    pub flush: fn(&mut DbConn) -> diesel::QueryResult<()>,
    pub discard: fn(),
    /// Runs first in each batch with the rows its deferring jobs claimed, sorted and
    /// without repeats: locks them in that order, where the backend has row locks.
    pub claim: fn(&mut DbConn, &[i64]) -> diesel::QueryResult<()>,
}

impl Deferred {
    /// For a writer whose jobs never defer.
    pub const NONE: Deferred = Deferred {
        flush: |_| Ok(()),
        discard: || {},
        claim: |_, _| Ok(()),
    };
}

thread_local! {
    static IN_BATCH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static JOBS_LEFT: std::cell::Cell<usize> = const { std::cell::Cell::new(1) };
}

/// How many jobs of the running batch are left, this one included (1 outside a batch):
/// a hint for what the batch will still need, such as how many ids to take at once.
pub fn jobs_left() -> usize {
    JOBS_LEFT.get()
}

/// True inside a deferring job of the writer's batch: rows may be left for the batch's
/// end. Everywhere else (plain jobs, the pool, tests on a bare connection) writes are
/// direct.
pub fn may_defer() -> bool {
    IN_BATCH.with(|b| b.get())
}

/// A lazy job's savepoint (PostgreSQL, see [`Writer::write_deferring_lazy`]): none until
/// the job asks for one with [`savepoint`].
#[derive(Clone, Copy, Default)]
struct Lazy {
    /// The batch's reused savepoint is defined (by this job or an earlier one).
    open: bool,
    /// This job has its savepoint: a rollback to it undoes everything the job did.
    guarded: bool,
    /// This job wrote outside a savepoint ([`wrote_unguarded`]): an error fails the batch.
    exposed: bool,
    /// A savepoint statement failed: the transaction may be aborted.
    broken: bool,
}

thread_local! {
    static LAZY: std::cell::Cell<Option<Lazy>> = const { std::cell::Cell::new(None) };
}

const BEGIN_AGAIN: &str = "RELEASE SAVEPOINT kaibo_job; SAVEPOINT kaibo_job";
const BEGIN: &str = "SAVEPOINT kaibo_job";

/// Gives a lazy job of a PostgreSQL batch its savepoint, once: call it before the job's
/// first write that a refusal must undo. Everywhere else the job already has one (each
/// job's own on SQLite and for plain jobs, the transaction on the pool) and this does
/// nothing.
pub fn savepoint(conn: &mut DbConn) -> diesel::QueryResult<()> {
    use diesel::connection::SimpleConnection;
    let Some(mut lazy) = LAZY.get() else {
        return Ok(());
    };
    if lazy.guarded {
        return Ok(());
    }
    let begun = conn.batch_execute(if lazy.open { BEGIN_AGAIN } else { BEGIN });
    match begun {
        Ok(()) => {
            lazy.open = true;
            lazy.guarded = true;
        }
        Err(_) => lazy.broken = true,
    }
    LAZY.set(Some(lazy));
    begun
}

/// Says that a lazy job wrote before its [`savepoint`] and must not be refused from now
/// on: if it returns an error all the same, its whole batch fails, so nothing of it is
/// committed. Does nothing where the job is covered by a savepoint.
pub fn wrote_unguarded() {
    if let Some(mut lazy) = LAZY.get()
        && !lazy.guarded
    {
        lazy.exposed = true;
        LAZY.set(Some(lazy));
    }
}

/// How a batch gives each job its savepoint.
enum Savepoints {
    /// Each job's own, begun and released around it (SQLite: in-process, cheap).
    EachJob,
    /// One name for every job (PostgreSQL): releasing a job's savepoint and beginning
    /// the next one's is one round trip instead of two; a savepoint still open at the
    /// end is committed with the batch. `broken` once a savepoint statement failed: the
    /// transaction may be aborted, and PostgreSQL answers the COMMIT of an aborted
    /// transaction with a rollback, not an error, so the batch must fail instead.
    Reused { open: bool, broken: bool },
}

impl Savepoints {
    fn broken(&self) -> bool {
        matches!(self, Savepoints::Reused { broken: true, .. })
    }
}

/// The savepoint of [`Savepoints::Reused`], outside diesel's own names.
fn in_reused_savepoint<T, E, F>(
    conn: &mut DbConn,
    open: &mut bool,
    broken: &mut bool,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::SimpleConnection;
    let begun = conn.batch_execute(if *open { BEGIN_AGAIN } else { BEGIN });
    if let Err(e) = begun {
        *broken = true;
        return Err(e.into());
    }
    *open = true;
    let result = f(conn);
    if result.is_err() {
        // The savepoint stays defined after a rollback to it, for the next job.
        if let Err(e) = conn.batch_execute("ROLLBACK TO SAVEPOINT kaibo_job") {
            *broken = true;
            return Err(e.into());
        }
    }
    result
}

/// A lazy job in a batch's reused savepoint: see [`Writer::write_deferring_lazy`].
fn in_lazy_savepoint<T, E, F>(
    conn: &mut DbConn,
    open: &mut bool,
    broken: &mut bool,
    is_refusal: fn(&E) -> bool,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::SimpleConnection;
    LAZY.set(Some(Lazy {
        open: *open,
        ..Lazy::default()
    }));
    let result = f(conn);
    let lazy = LAZY.take().unwrap_or_default();
    *open = lazy.open;
    if lazy.broken {
        *broken = true;
    }
    if let Err(e) = &result {
        if lazy.exposed || (!lazy.guarded && !is_refusal(e)) {
            // Writes no savepoint can undo, or a failed statement with none to roll
            // back to (the transaction is aborted): nothing of this batch may commit.
            *broken = true;
        } else if lazy.guarded
            && let Err(e) = conn.batch_execute("ROLLBACK TO SAVEPOINT kaibo_job")
        {
            *broken = true;
            return Err(e.into());
        }
    }
    result
}

trait Done: Send {
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

struct Job<F, T, E> {
    f: F,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
    defers: bool,
    claims: Vec<i64>,
    /// For a lazy job: which of its errors are its own refusals (no statement failed).
    lazy: Option<fn(&E) -> bool>,
}

struct Finished<T, E> {
    result: Result<T, E>,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Task for Job<F, T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<diesel::result::Error> + From<WriteError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut DbConn, savepoints: &mut Savepoints) -> Box<dyn Done> {
        IN_BATCH.with(|b| b.set(self.defers));
        let result = match savepoints {
            // Nested in the batch's transaction, `write_tx` is a savepoint.
            Savepoints::EachJob => write_tx(conn, self.f),
            Savepoints::Reused { open, broken } => match self.lazy {
                Some(is_refusal) => in_lazy_savepoint(conn, open, broken, is_refusal, self.f),
                None => in_reused_savepoint(conn, open, broken, self.f),
            },
        };
        IN_BATCH.with(|b| b.set(false));
        Box::new(Finished {
            result,
            reply: self.reply,
        })
    }

    fn fail(self: Box<Self>, why: String) {
        let _ = self.reply.send(Err(E::from(WriteError(why))));
    }

    fn defers(&self) -> bool {
        self.defers
    }

    fn claims(&self) -> &[i64] {
        &self.claims
    }
}

impl<T, E> Done for Finished<T, E>
where
    T: Send + 'static,
    E: From<WriteError> + Send + 'static,
{
    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let answer = match committed {
            Ok(()) => self.result,
            Err(why) => Err(E::from(WriteError(why))),
        };
        let _ = self.reply.send(answer);
    }
}

pub struct Writer {
    pool: Pool,
    /// One queue per writer thread; empty if no thread could be started.
    queues: Vec<mpsc::Sender<Box<dyn Task>>>,
    /// Whether plain jobs go through the queue too (SQLite), or only deferring ones.
    all: bool,
}

impl Writer {
    /// Starts the writer's threads, which write what jobs deferred with `deferred`: one on
    /// SQLite (one writer at a time); on PostgreSQL [`PG_WRITERS`], fewer in a pool too
    /// small to leave a connection for the rest (none with a pool of one: placements
    /// then run on the pool, unbatched). Each thread keeps a connection of the pool.
    pub fn start(pool: Pool, backend: Backend, deferred: Deferred) -> Writer {
        Writer::start_restarting_wal_at(pool, backend, deferred, RESTART_FRAMES)
    }

    /// [`Writer::start`] with the WAL started over at `restart_frames` (SQLite).
    fn start_restarting_wal_at(
        pool: Pool,
        backend: Backend,
        deferred: Deferred,
        restart_frames: i64,
    ) -> Writer {
        let threads = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => (pool.max_size().saturating_sub(1) as usize).min(PG_WRITERS),
        };
        let mut queues = Vec::with_capacity(threads);
        for n in 0..threads {
            let (tx, rx) = mpsc::channel::<Box<dyn Task>>();
            let pool = pool.clone();
            let started = std::thread::Builder::new()
                .name(format!("kaibo-writer-{n}"))
                .spawn(move || run_batches(pool, backend, rx, deferred, restart_frames));
            match started {
                Ok(_) => queues.push(tx),
                Err(e) => tracing::error!(error = %e, "cannot start a writer thread"),
            }
        }
        Writer {
            pool,
            queues,
            all: backend == Backend::Sqlite,
        }
    }

    /// Runs `f` in a write transaction (a savepoint of a batch on SQLite).
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<diesel::result::Error> + From<WriteError> + Send + 'static,
    {
        self.submit(f, false, Vec::new(), None).await
    }

    /// [`Writer::write`] for a job that may leave rows for the end of its batch (see
    /// [`may_defer`]) and that locks the rows `claims` names (see [`Deferred::claim`]),
    /// always in a batch. Its answer still comes after the commit that wrote them.
    pub async fn write_deferring<T, E, F>(&self, claims: Vec<i64>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<diesel::result::Error> + From<WriteError> + Send + 'static,
    {
        self.submit(f, true, claims, None).await
    }

    /// [`Writer::write_deferring`] for a job that opens its own savepoint. In a
    /// PostgreSQL batch, where a savepoint costs a round trip, the job runs without one
    /// until it calls [`savepoint`]; until then it may read, and refuse with an error for
    /// which `is_refusal` holds. A write before the savepoint must be followed by
    /// [`wrote_unguarded`], and any error after it fails the whole batch, as does an
    /// error without a savepoint for which `is_refusal` does not hold (a failed statement
    /// aborts the transaction). Elsewhere the job has its savepoint from the start.
    pub async fn write_deferring_lazy<T, E, F>(
        &self,
        claims: Vec<i64>,
        is_refusal: fn(&E) -> bool,
        f: F,
    ) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<diesel::result::Error> + From<WriteError> + Send + 'static,
    {
        self.submit(f, true, claims, Some(is_refusal)).await
    }

    async fn submit<T, E, F>(
        &self,
        f: F,
        defers: bool,
        claims: Vec<i64>,
        lazy: Option<fn(&E) -> bool>,
    ) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<diesel::result::Error> + From<WriteError> + Send + 'static,
    {
        // Jobs that lock the same rows share a thread: a hot SKU's placements batch together.
        let queue = claims.iter().min().map_or(0, |sku| {
            sku.rem_euclid(self.queues.len().max(1) as i64) as usize
        });
        match self.queues.get(queue) {
            Some(queue) if defers || self.all => {
                let (reply, answer) = tokio::sync::oneshot::channel();
                let job = Job {
                    f,
                    reply,
                    defers,
                    claims,
                    lazy,
                };
                if queue.send(Box::new(job)).is_err() {
                    return Err(E::from(WriteError("the writer has stopped".into())));
                }
                answer
                    .await
                    .unwrap_or_else(|_| Err(E::from(WriteError("the write was abandoned".into()))))
            }
            _ => {
                let pool = self.pool.clone();
                let done = actix_web::web::block(move || {
                    let mut conn = pool.get().map_err(|e| E::from(WriteError(e.to_string())))?;
                    write_tx(&mut conn, f)
                })
                .await;
                done.unwrap_or_else(|e| Err(E::from(WriteError(e.to_string()))))
            }
        }
    }
}

fn run_batches(
    pool: Pool,
    backend: Backend,
    rx: mpsc::Receiver<Box<dyn Task>>,
    deferred: Deferred,
    restart_frames: i64,
) {
    // The writer keeps one connection: its page cache and prepared statements stay warm.
    // SQLite empties a connection's page cache whenever another connection wrote since
    // its last transaction, so taking any pooled connection per batch would start every
    // batch cold. After a failed batch the connection is given back and a fresh one
    // taken.
    let mut held: Option<super::PooledConn> = None;
    let mut checkpoints =
        (backend == Backend::Sqlite).then(|| Checkpointer::start(pool.clone(), restart_frames));
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(task) => batch.push(task),
                Err(_) => break,
            }
        }
        let mut conn = match held.take().map_or_else(|| writer_connection(&pool), Ok) {
            Ok(conn) => conn,
            Err(e) => {
                for task in batch {
                    task.fail(e.to_string());
                }
                continue;
            }
        };
        let mut claims: Vec<i64> = batch.iter().flat_map(|t| t.claims()).copied().collect();
        claims.sort_unstable();
        claims.dedup();
        let mut done: Vec<Box<dyn Done>> = Vec::with_capacity(batch.len());
        let mut savepoints = match backend {
            Backend::Sqlite => Savepoints::EachJob,
            Backend::Postgres => Savepoints::Reused {
                open: false,
                broken: false,
            },
        };
        let started = std::time::Instant::now();
        let mut ran = std::time::Duration::ZERO;
        let mut flushed = std::time::Duration::ZERO;
        let committed = std::panic::catch_unwind(AssertUnwindSafe(|| {
            write_tx(&mut conn, |conn| {
                if !claims.is_empty() {
                    (deferred.claim)(conn, &claims)?;
                }
                let jobs = batch.len();
                for (n, task) in batch.into_iter().enumerate() {
                    if !task.defers() {
                        (deferred.flush)(conn)?;
                    }
                    JOBS_LEFT.set(jobs - n);
                    done.push(task.run(conn, &mut savepoints));
                }
                JOBS_LEFT.set(1);
                if savepoints.broken() {
                    return Err(diesel::result::Error::RollbackTransaction);
                }
                ran = started.elapsed();
                (deferred.flush)(conn)?;
                flushed = started.elapsed();
                Ok(())
            })
        }));
        let took = started.elapsed();
        if took >= SLOW_BATCH {
            tracing::warn!(
                jobs = done.len(),
                ms = took.as_millis() as u64,
                jobs_ms = ran.as_millis() as u64,
                flush_ms = flushed.saturating_sub(ran).as_millis() as u64,
                commit_ms = took.saturating_sub(flushed).as_millis() as u64,
                "slow write batch"
            );
        }
        // After a commit nothing is left; a failed batch's deferred rows go with it.
        IN_BATCH.with(|b| b.set(false));
        LAZY.set(None);
        JOBS_LEFT.set(1);
        (deferred.discard)();
        let outcome = match committed {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, jobs = done.len(), "batch commit failed");
                Err(e.to_string())
            }
            Err(_) => {
                tracing::error!("a write job panicked; its batch was rolled back");
                Err("internal error".to_string())
            }
        };
        if outcome.is_ok() {
            held = Some(conn);
        }
        for d in done {
            d.finish(outcome.clone());
        }
        // After a commit, between two batches, once every caller has its answer. The
        // writer's pass before a restart comes before the checkpointer is woken, so the
        // two never run at once (one of them would find the checkpoint lock taken).
        if let (Some(checkpoints), Some(conn)) = (&mut checkpoints, held.as_mut()) {
            checkpoints.restart_if_due(conn);
            checkpoints.after_commit();
        }
    }
}

/// The writer's connection. On SQLite it leaves checkpoints to the checkpointer thread:
/// a commit that crosses the auto-checkpoint threshold copies the WAL into the database
/// and syncs it on the committing thread, and every write waits behind that.
fn writer_connection(pool: &Pool) -> Result<super::PooledConn, String> {
    use diesel::connection::SimpleConnection;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    if conn.backend() == Backend::Postgres {
        return Ok(conn);
    }
    // A fallback only, far above the checkpointer's pace: if it stalls, the WAL still
    // stops growing at about 400 MB (100,000 pages of 4 KiB).
    conn.batch_execute("PRAGMA wal_autocheckpoint = 100000;")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// WAL frames (pages of 4 KiB) past which the writer starts the WAL over: about 260 MB.
/// Far enough below the fallback (`wal_autocheckpoint`, 100,000 frames) that the
/// checkpointer's passes, a few thousand frames apart under load, reach it first.
const RESTART_FRAMES: i64 = 64_000;

/// Checkpoints the WAL from its own thread and connection, at most every
/// `CHECKPOINT_EVERY`, after a commit. A PASSIVE checkpoint never waits for the writer or
/// readers; frames still read by someone are left for the next one. The thread ends
/// with the writer.
///
/// The WAL only starts over when a write transaction begins with every frame already
/// copied, and under sustained writes the writer is nearly always a commit ahead of any
/// pass. So once the WAL holds `restart_frames`, the checkpointer makes a second pass
/// at once (it copies only what came during the first) and marks the restart as due;
/// the writer then copies the few frames committed since, between two batches, and
/// its next batch starts the WAL over. Left to the fallback instead, the writer's
/// commit copied the checkpointer's whole backlog and synced it: 100 to 480 ms with
/// every order of the batch waiting (BENCHMARKS.md, "Order placement").
struct Checkpointer {
    wake: mpsc::SyncSender<()>,
    last: std::time::Instant,
    /// Nonzero when a restart is due: the frames the checkpointer had copied by then.
    restart_due: Arc<AtomicI64>,
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The row `PRAGMA wal_checkpoint` answers.
#[derive(Debug, diesel::QueryableByName)]
struct CheckpointPass {
    /// 1 when another checkpoint or a writer's lock kept this one from finishing.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    /// Frames in the WAL (-1 when the database is not in WAL mode).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    /// Frames copied into the database, this pass or before.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

impl CheckpointPass {
    fn run(conn: &mut DbConn) -> diesel::QueryResult<CheckpointPass> {
        use diesel::RunQueryDsl;
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(conn)
    }

    /// Every frame of the WAL is in the database.
    fn caught_up(&self) -> bool {
        self.busy == 0 && self.log >= 0 && self.checkpointed == self.log
    }

    /// The WAL is past the restart size and all of it is in the database.
    fn restart_ready(&self, restart_frames: i64) -> bool {
        i64::from(self.log) >= restart_frames && self.caught_up()
    }
}

impl Checkpointer {
    fn start(pool: Pool, restart_frames: i64) -> Checkpointer {
        let (wake, rx) = mpsc::sync_channel::<()>(1);
        let restart_due = Arc::new(AtomicI64::new(0));
        let due = Arc::clone(&restart_due);
        let spawned = std::thread::Builder::new()
            .name("kaibo-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // The writer's own pass is next; one of ours now would keep it from
                    // taking the checkpoint lock.
                    if due.load(Ordering::Acquire) != 0 {
                        continue;
                    }
                    let started = std::time::Instant::now();
                    let done = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                        let mut pass = CheckpointPass::run(&mut conn).map_err(|e| e.to_string())?;
                        if pass.restart_ready(restart_frames) {
                            pass = CheckpointPass::run(&mut conn).map_err(|e| e.to_string())?;
                        }
                        Ok(pass)
                    });
                    match done {
                        Ok(pass) if pass.restart_ready(restart_frames) => {
                            due.store(i64::from(pass.checkpointed), Ordering::Release);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "WAL checkpoint failed; the next commit retries");
                        }
                    }
                    let took = started.elapsed();
                    if took >= SLOW_BATCH {
                        tracing::warn!(ms = took.as_millis() as u64, "slow WAL checkpoint");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no checkpoint thread; SQLite checkpoints on commit");
        }
        Checkpointer {
            wake,
            last: std::time::Instant::now(),
            restart_due,
        }
    }

    fn after_commit(&mut self) {
        if self.last.elapsed() >= CHECKPOINT_EVERY {
            self.last = std::time::Instant::now();
            // Full means one is already waiting to run: that one covers this commit.
            let _ = self.wake.try_send(());
        }
    }

    /// On the writer's connection, between batches: when the checkpointer has caught up
    /// with a WAL past the restart size, copies the frames committed since, so the next
    /// batch starts the WAL over. If a reader still holds old frames, the WAL goes on
    /// growing and the checkpointer marks the restart due again after its next pass.
    fn restart_if_due(&self, conn: &mut DbConn) {
        let copied_before = self.restart_due.swap(0, Ordering::AcqRel);
        if copied_before == 0 {
            return;
        }
        let started = std::time::Instant::now();
        match CheckpointPass::run(conn) {
            Ok(pass) => {
                let took = started.elapsed();
                // Few frames and a long pass: the time went to the two syncs.
                let copied = if pass.busy == 0 {
                    i64::from(pass.checkpointed) - copied_before
                } else {
                    0
                };
                if took >= SLOW_BATCH {
                    tracing::warn!(
                        ms = took.as_millis() as u64,
                        frames = pass.log,
                        copied,
                        busy = pass.busy,
                        "slow WAL restart"
                    );
                } else {
                    tracing::debug!(
                        ms = took.as_millis() as u64,
                        frames = pass.log,
                        copied,
                        caught_up = pass.caught_up(),
                        busy = pass.busy,
                        "WAL ready to start over"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint before a restart failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::{DatabaseUrl, build_pool};

    /// A new SQLite database `kaibo.db` in a temporary folder, with a `notes` table.
    fn notes_database(connections: u32) -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("kaibo.db"));
        let pool = build_pool(&url, connections).unwrap();
        pool.get()
            .unwrap()
            .batch_execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);")
            .unwrap();
        (dir, pool)
    }

    /// The writer leaves checkpoints to its own thread: the database file grows only
    /// when the checkpointer copies the WAL into it (the writer's own threshold is far
    /// above what this test writes, and no other connection commits).
    #[tokio::test]
    async fn the_checkpoint_thread_copies_the_wal_into_the_database() {
        let (dir, pool) = notes_database(2);
        let path = dir.path().join("kaibo.db");
        let writer = Writer::start(pool.clone(), Backend::Sqlite, Deferred::NONE);
        let before = std::fs::metadata(&path).unwrap().len();
        let write = |round: i32| {
            writer.write(move |conn: &mut DbConn| {
                for i in 0..200 {
                    conn.batch_execute(&format!(
                        "INSERT INTO notes (id, body) VALUES ({}, printf('%.2000c', 'x'));",
                        round * 1000 + i
                    ))?;
                }
                Ok::<(), crate::error::AppError>(())
            })
        };
        write(0).await.unwrap();
        // A checkpoint is asked for at most every CHECKPOINT_EVERY, after a commit.
        tokio::time::sleep(CHECKPOINT_EVERY + std::time::Duration::from_millis(50)).await;
        write(1).await.unwrap();
        let mut after = before;
        for _ in 0..100 {
            after = std::fs::metadata(&path).unwrap().len();
            if after > before + 400_000 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(
            after > before + 400_000,
            "the database file stayed at {after} bytes (from {before}): no checkpoint ran"
        );
    }

    /// Under writes that never pause, the WAL would only start over at the fallback
    /// (100,000 frames). With the restart size set low, it starts over again and again
    /// and stays a fraction of what went through it, and the database stays whole.
    #[tokio::test]
    async fn under_sustained_writes_the_wal_starts_over() {
        let (dir, pool) = notes_database(4);
        let wal = dir.path().join("kaibo.db-wal");
        let restart_frames = 1_000;
        let writer = Writer::start_restarting_wal_at(
            pool.clone(),
            Backend::Sqlite,
            Deferred::NONE,
            restart_frames,
        );
        let frame: u64 = 4096 + 24;
        let bound = 8 * restart_frames as u64 * frame;
        let (mut rounds, mut largest): (u64, u64) = (0, 0);
        // About 10 frames a round, each round a few ms long so the pace stays near what
        // the checkpointer's passes (every 250 ms) copy, one round after another until
        // two and a half times the bound went through the WAL. A pass seldom falls
        // between two rounds, so the WAL can hardly start over by itself.
        while rounds * 10 * frame < 5 * bound / 2 {
            let round = rounds;
            writer
                .write(move |conn: &mut DbConn| {
                    conn.batch_execute(&format!(
                        "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n \
                         WHERE v < 10) INSERT INTO notes (id, body) \
                         SELECT {round} * 100 + v, printf('%.3900c', 'x') FROM n;"
                    ))?;
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    Ok::<(), crate::error::AppError>(())
                })
                .await
                .unwrap();
            rounds += 1;
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        assert!(
            largest < bound,
            "the WAL grew to {largest} bytes while {} went through it: it never started over",
            rounds * 10 * frame
        );
        // The WAL header's checkpoint sequence number counts the times it started over.
        let header = std::fs::read(&wal).unwrap();
        let restarts = u32::from_be_bytes(header[12..16].try_into().unwrap());
        assert!(restarts >= 2, "the WAL started over {restarts} times");
        let mut conn = pool.get().unwrap();
        let kept: i64 = {
            use diesel::RunQueryDsl;
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM notes)",
            ))
            .get_result(&mut conn)
            .unwrap()
        };
        assert_eq!(kept, rounds as i64 * 10);
        let check: String = {
            use diesel::RunQueryDsl;
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
                "(SELECT integrity_check FROM pragma_integrity_check)",
            ))
            .get_result(&mut conn)
            .unwrap()
        };
        assert_eq!(check, "ok");
    }
}
