/** The schema of meta.sqlite: numbered migrations, applied in order inside a transaction (meta.ts). */
export const MIGRATIONS: string[] = [
  `CREATE TABLE tables (
     name TEXT PRIMARY KEY,
     timestamp_column TEXT,
     key_column TEXT,
     source TEXT NOT NULL,
     description TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE ingests (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     table_name TEXT NOT NULL,
     mode TEXT NOT NULL CHECK (mode IN ('append', 'replace')),
     file_path TEXT NOT NULL,
     file_hash TEXT NOT NULL,
     file_bytes INTEGER NOT NULL,
     rows INTEGER,
     status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
     batch_id TEXT NOT NULL,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     error TEXT
   );
   CREATE INDEX ingests_by_hash ON ingests (table_name, file_hash);`,
  // 2: experiment tracking and the model registry (src/registry/).
  `CREATE TABLE experiments (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL
   );
   CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     experiment_id INTEGER NOT NULL REFERENCES experiments (id),
     name TEXT,
     status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
     started_at TEXT NOT NULL,
     ended_at TEXT,
     git_commit TEXT,
     config_hash TEXT,
     host TEXT NOT NULL,
     pid INTEGER NOT NULL,
     error TEXT
   );
   CREATE INDEX runs_by_experiment ON runs (experiment_id, started_at);
   CREATE TABLE run_params (run_id TEXT NOT NULL REFERENCES runs (id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key));
   CREATE TABLE run_tags (run_id TEXT NOT NULL REFERENCES runs (id), key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key));
   CREATE TABLE run_metrics (
     run_id TEXT NOT NULL REFERENCES runs (id),
     key TEXT NOT NULL,
     step INTEGER NOT NULL,
     value REAL,
     logged_at TEXT NOT NULL,
     PRIMARY KEY (run_id, key, step)
   );
   CREATE TABLE run_lineage (
     run_id TEXT NOT NULL REFERENCES runs (id),
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     version TEXT,
     details TEXT,
     PRIMARY KEY (run_id, kind, name)
   );
   CREATE TABLE run_artifacts (
     run_id TEXT NOT NULL REFERENCES runs (id),
     path TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     logged_at TEXT NOT NULL,
     PRIMARY KEY (run_id, path)
   );
   CREATE TABLE models (name TEXT PRIMARY KEY, description TEXT, created_at TEXT NOT NULL);
   CREATE TABLE model_versions (
     model_name TEXT NOT NULL REFERENCES models (name),
     version INTEGER NOT NULL,
     run_id TEXT REFERENCES runs (id),
     signature TEXT NOT NULL,
     artifact_path TEXT,
     description TEXT,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     PRIMARY KEY (model_name, version)
   );
   CREATE TABLE model_aliases (
     model_name TEXT NOT NULL REFERENCES models (name),
     alias TEXT NOT NULL,
     version INTEGER NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (model_name, alias),
     FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
   );
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     model_name TEXT,
     version INTEGER,
     alias TEXT,
     previous_version INTEGER,
     reason TEXT,
     details TEXT
   );
   CREATE INDEX audit_by_model ON audit_log (model_name, id);
   CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
   CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`,
  // 3: the retrain-evaluate-promote loop's durable runs and steps (src/loop/runner/).
  `CREATE TABLE loop_runs (
     id TEXT PRIMARY KEY,
     loop TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
     runner TEXT NOT NULL,
     triggers TEXT NOT NULL,
     input TEXT NOT NULL,
     created_at TEXT NOT NULL,
     started_at TEXT,
     ended_at TEXT,
     error TEXT,
     outcome TEXT,
     owner TEXT,
     lease_until TEXT
   );
   CREATE INDEX loop_runs_by_loop ON loop_runs (loop, status, created_at);
   CREATE TABLE loop_steps (
     run_id TEXT NOT NULL REFERENCES loop_runs (id),
     position INTEGER NOT NULL,
     name TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
     attempts INTEGER NOT NULL DEFAULT 0,
     output TEXT,
     error TEXT,
     started_at TEXT,
     ended_at TEXT,
     owner TEXT,
     retry_at TEXT,
     PRIMARY KEY (run_id, name)
   );`,
  // 4: monitoring alerts, one row per (model, version, kind, subject, window): raised again, it is updated (src/monitor/alerts.ts).
  `CREATE TABLE monitor_alerts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     window TEXT NOT NULL,
     severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
     value REAL NOT NULL,
     threshold REAL NOT NULL,
     message TEXT NOT NULL,
     evidence TEXT NOT NULL,
     first_seen TEXT NOT NULL,
     last_seen TEXT NOT NULL,
     times_seen INTEGER NOT NULL DEFAULT 1,
     acknowledged_at TEXT,
     UNIQUE (model, version, kind, subject, window)
   );
   CREATE INDEX monitor_alerts_by_model ON monitor_alerts (model, last_seen);`,
  // 5: embedding spaces: immutable versions with lineage, aliases, and an append-only audit (src/embeddings/space/).
  `CREATE TABLE embedding_versions (
     space TEXT NOT NULL,
     version INTEGER NOT NULL,
     entity TEXT NOT NULL,
     trainer TEXT NOT NULL,
     dim INTEGER NOT NULL,
     metric TEXT NOT NULL,
     size INTEGER NOT NULL,
     data_from TEXT,
     data_to TEXT,
     trained_until TEXT,
     params TEXT NOT NULL,
     metrics TEXT NOT NULL,
     lineage TEXT NOT NULL,
     path TEXT NOT NULL,
     checksum TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     PRIMARY KEY (space, version)
   );
   CREATE TABLE embedding_aliases (
     space TEXT NOT NULL,
     alias TEXT NOT NULL,
     version INTEGER NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (space, alias),
     FOREIGN KEY (space, version) REFERENCES embedding_versions (space, version)
   );
   CREATE TABLE embedding_audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     space TEXT NOT NULL,
     version INTEGER,
     alias TEXT,
     previous_version INTEGER,
     reason TEXT,
     details TEXT
   );
   CREATE TRIGGER embedding_audit_no_update BEFORE UPDATE ON embedding_audit BEGIN SELECT RAISE(ABORT, 'embedding_audit is append-only'); END;
   CREATE TRIGGER embedding_audit_no_delete BEFORE DELETE ON embedding_audit BEGIN SELECT RAISE(ABORT, 'embedding_audit is append-only'); END;`,
  // 6: the web UI's runs table: newest first over every experiment, and filters by tag, parameter or metric value.
  `CREATE INDEX runs_by_start ON runs (started_at, id);
   CREATE INDEX run_tags_by_value ON run_tags (key, value);
   CREATE INDEX run_params_by_value ON run_params (key, value);`,
  // 7: nothing here; on PostgreSQL it creates the decision log's table (embedded, decisions are files under <dataDir>/decisions).
  `SELECT 1;`,
];
