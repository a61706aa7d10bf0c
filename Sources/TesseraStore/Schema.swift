import GRDB

/// The schema, as append-only named migrations. Never edit a shipped migration: add a new one.
/// `docs/store.md` explains every table, column and index.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-jobs-frames-tasks-attempts-workers-events") { db in
            try db.execute(sql: """
                CREATE TABLE jobs (
                    id               INTEGER PRIMARY KEY,
                    name             TEXT    NOT NULL,
                    capture_dir      TEXT    NOT NULL,
                    output_dir       TEXT    NOT NULL,
                    recipe_name      TEXT    NOT NULL,
                    recipe_document  TEXT    NOT NULL,
                    recipe_hash      TEXT    NOT NULL,
                    tile_size        INTEGER NOT NULL CHECK (tile_size > 0),
                    format           TEXT    NOT NULL,
                    priority         INTEGER NOT NULL DEFAULT 0,
                    overwrite        INTEGER NOT NULL DEFAULT 0,
                    state            TEXT    NOT NULL,
                    paused           INTEGER NOT NULL DEFAULT 0,
                    created_at       INTEGER NOT NULL,
                    finished_at      INTEGER,
                    frames_total     INTEGER NOT NULL DEFAULT 0,
                    frames_done      INTEGER NOT NULL DEFAULT 0,
                    frames_failed    INTEGER NOT NULL DEFAULT 0,
                    tasks_queued     INTEGER NOT NULL DEFAULT 0,
                    tasks_running    INTEGER NOT NULL DEFAULT 0,
                    tasks_succeeded  INTEGER NOT NULL DEFAULT 0,
                    tasks_failed     INTEGER NOT NULL DEFAULT 0,
                    tasks_cancelled  INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX jobs_by_dirs ON jobs(capture_dir, output_dir);

                CREATE TABLE frames (
                    id                INTEGER PRIMARY KEY,
                    job_id            INTEGER NOT NULL REFERENCES jobs(id),
                    ordinal           INTEGER NOT NULL,
                    path              TEXT    NOT NULL,
                    stem              TEXT    NOT NULL,
                    byte_count        INTEGER NOT NULL,
                    state             TEXT    NOT NULL,
                    width             INTEGER,
                    height            INTEGER,
                    metadata          TEXT,
                    spool_path        TEXT,
                    tiles_total       INTEGER NOT NULL DEFAULT 0,
                    tiles_done        INTEGER NOT NULL DEFAULT 0,
                    output_path       TEXT,
                    output_bytes      INTEGER,
                    output_checksum   INTEGER,
                    failure_code      TEXT,
                    failure_reason    TEXT,
                    failure_attempts  INTEGER NOT NULL DEFAULT 0,
                    decoded_at        INTEGER,
                    finished_at       INTEGER
                );
                CREATE INDEX frames_by_job ON frames(job_id, id);
                CREATE INDEX frames_assembling ON frames(id) WHERE state = 'assembling';
                CREATE INDEX frames_failed ON frames(job_id, id) WHERE state = 'failed';

                CREATE TABLE tasks (
                    id           INTEGER PRIMARY KEY,
                    job_id       INTEGER NOT NULL REFERENCES jobs(id),
                    frame_id     INTEGER NOT NULL REFERENCES frames(id),
                    kind         INTEGER NOT NULL,
                    state        TEXT    NOT NULL,
                    attempts     INTEGER NOT NULL DEFAULT 0,
                    worker_id    INTEGER,
                    core_x       INTEGER,
                    core_y       INTEGER,
                    core_width   INTEGER,
                    core_height  INTEGER,
                    started_at   INTEGER,
                    finished_at  INTEGER,
                    last_error   TEXT
                );
                CREATE INDEX tasks_by_frame ON tasks(frame_id, id);
                CREATE INDEX tasks_queued ON tasks(job_id, id) WHERE state = 'queued';
                CREATE INDEX tasks_running ON tasks(id) WHERE state = 'running';

                CREATE TABLE attempts (
                    task_id         INTEGER NOT NULL,
                    attempt         INTEGER NOT NULL,
                    worker_id       INTEGER NOT NULL,
                    started_at      INTEGER NOT NULL,
                    finished_at     INTEGER,
                    outcome         TEXT    NOT NULL,
                    error_code      TEXT,
                    error           TEXT,
                    compute_micros  INTEGER,
                    PRIMARY KEY (task_id, attempt)
                ) WITHOUT ROWID;

                CREATE TABLE workers (
                    id             INTEGER PRIMARY KEY,
                    name           TEXT    NOT NULL,
                    host           TEXT    NOT NULL,
                    cores          INTEGER NOT NULL,
                    memory_bytes   INTEGER NOT NULL,
                    slots          INTEGER NOT NULL,
                    version        TEXT    NOT NULL,
                    active         INTEGER NOT NULL DEFAULT 1,
                    registered_at  INTEGER NOT NULL,
                    last_seen      INTEGER NOT NULL,
                    lost_at        INTEGER,
                    lost_reason    TEXT
                );

                CREATE TABLE events (
                    id         INTEGER PRIMARY KEY,
                    at         INTEGER NOT NULL,
                    level      TEXT    NOT NULL,
                    kind       TEXT    NOT NULL,
                    message    TEXT    NOT NULL,
                    job_id     INTEGER,
                    frame_id   INTEGER,
                    task_id    INTEGER,
                    worker_id  INTEGER
                );
                CREATE INDEX events_by_job ON events(job_id, id) WHERE job_id IS NOT NULL;
                """)
        }
        // Retry backoff (a requeued task waits until not_before, ms since the epoch) and the
        // per-job list of workers that keep failing that job's tasks (keyed by worker name, so a
        // worker that reconnects under a new id stays listed).
        migrator.registerMigration("v2-retry-backoff-bad-workers") { db in
            try db.execute(sql: """
                ALTER TABLE tasks ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE job_bad_workers (
                    job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                    worker_name  TEXT    NOT NULL,
                    failures     INTEGER NOT NULL DEFAULT 0,
                    banned_at    INTEGER,
                    PRIMARY KEY (job_id, worker_name)
                ) WITHOUT ROWID;
                """)
        }
        // Bursts: a frame row may stand for a burst of several input files (its `path` is the
        // burst's first frame; `members` holds the others as a JSON array of paths).
        migrator.registerMigration("v3-burst-members") { db in
            try db.execute(sql: "ALTER TABLE frames ADD COLUMN members TEXT")
        }
        // Bursts split into tiles across the farm: one decode task per burst member
        // (`tasks.member`, 0 = the frame's `path`, k = `members[k-1]`), a task's result document
        // (`tasks.result`: a member's decode summary, a merge tile's weight sum) kept for the
        // coordinator, and the frames a restarted coordinator must resume planning or assembling.
        migrator.registerMigration("v4-burst-tiles") { db in
            try db.execute(sql: """
                ALTER TABLE tasks ADD COLUMN member INTEGER;
                ALTER TABLE tasks ADD COLUMN result TEXT;
                CREATE INDEX frames_bursts_pending ON frames(id) WHERE state = 'pending' AND members IS NOT NULL;
                CREATE INDEX frames_merged ON frames(id) WHERE state = 'merged';
                """)
        }
        KeySchema.register(&migrator)
        // Operator views (docs/store.md): counters kept by triggers so `tessera jobs`/`workers`
        // read one row per job or worker instead of scanning frames and attempts; a job's start
        // time; a worker asked to drain; and a task's attempt count when an operator retried it
        // (its attempt budget counts from there).
        migrator.registerMigration("v6-operator-views") { db in
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN started_at INTEGER;
                ALTER TABLE jobs ADD COLUMN pixels_done INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE workers ADD COLUMN draining_at INTEGER;
                ALTER TABLE workers ADD COLUMN tasks_succeeded INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE workers ADD COLUMN tasks_failed INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE workers ADD COLUMN compute_micros INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE tasks ADD COLUMN retry_base INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX jobs_by_state ON jobs(state, id);
                CREATE INDEX workers_active ON workers(active, id);

                UPDATE jobs SET started_at = (SELECT MIN(a.started_at) FROM attempts a JOIN tasks t ON t.id = a.task_id
                                              WHERE t.job_id = jobs.id),
                                pixels_done = COALESCE((SELECT SUM(width * height) FROM frames
                                                        WHERE frames.job_id = jobs.id AND state = 'done'), 0);
                UPDATE workers SET
                    tasks_succeeded = (SELECT COUNT(*) FROM attempts WHERE worker_id = workers.id AND outcome = 'succeeded'),
                    tasks_failed = (SELECT COUNT(*) FROM attempts WHERE worker_id = workers.id AND outcome IN ('failed', 'lost')
                                    AND COALESCE(error_code, '') != 'cancelled'),
                    compute_micros = COALESCE((SELECT SUM(compute_micros) FROM attempts WHERE worker_id = workers.id), 0);

                CREATE TRIGGER jobs_started AFTER INSERT ON attempts BEGIN
                    UPDATE jobs SET started_at = NEW.started_at
                    WHERE id = (SELECT job_id FROM tasks WHERE id = NEW.task_id) AND started_at IS NULL;
                END;
                CREATE TRIGGER workers_counters AFTER UPDATE OF outcome ON attempts
                WHEN OLD.outcome = 'running' AND NEW.outcome != 'running' BEGIN
                    UPDATE workers SET tasks_succeeded = tasks_succeeded + (NEW.outcome = 'succeeded'),
                        tasks_failed = tasks_failed + (NEW.outcome IN ('failed', 'lost') AND COALESCE(NEW.error_code, '') != 'cancelled'),
                        compute_micros = compute_micros + COALESCE(NEW.compute_micros, 0)
                    WHERE id = NEW.worker_id;
                END;
                CREATE TRIGGER jobs_pixels_done AFTER UPDATE OF state ON frames
                WHEN NEW.state = 'done' AND OLD.state != 'done' BEGIN
                    UPDATE jobs SET pixels_done = pixels_done + COALESCE(NEW.width * NEW.height, 0) WHERE id = NEW.job_id;
                END;
                """)
        }
        return migrator
    }
}
