-- Every entry the API accepted. `date` is RFC 3339 with the offset the
-- uploader gave, so the calendar day in the worker's own zone is kept.
CREATE TABLE timesheets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      TEXT NOT NULL,
    date         TEXT NOT NULL,
    project      TEXT NOT NULL,
    hours        REAL NOT NULL CHECK (hours > 0 AND hours <= 24),
    description  TEXT,
    task         TEXT,
    billable     INTEGER CHECK (billable IN (0, 1)),
    -- The token subject that uploaded it, for audit.
    uploaded_by  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
