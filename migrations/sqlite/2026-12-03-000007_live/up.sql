-- Live shows: sandbox rehearsals against a simulated audience, and live sessions where
-- the studio is the commerce console of a real stream. A show's simulation is replayed
-- from `seed`, `setup` (the audience and products as they were at the start) and its
-- action log, so the tick worker of any instance can take it over.
CREATE TABLE shows (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    seed BIGINT NOT NULL,
    minutes INTEGER NOT NULL,
    speed INTEGER NOT NULL,
    -- JSON: the simulation's configuration at the start (audience, products, stock).
    setup TEXT NOT NULL,
    -- Real time the show started; simulated time t is started_at + t (ms).
    started_at TIMESTAMP NOT NULL,
    -- Simulated milliseconds the tick worker has claimed (actions are stamped at or
    -- after it), and those whose ticks it has stored (orders placed, comments written).
    sim_ms BIGINT NOT NULL,
    done_ms BIGINT NOT NULL,
    -- How many actions the log holds.
    actions INTEGER NOT NULL,
    -- The show's virtual clock after it ended (fast-forward moves it).
    clock_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    end_reason TEXT,
    pinned_product_id BIGINT,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    orders_placed INTEGER NOT NULL,
    orders_refused INTEGER NOT NULL,
    -- JSON: the simulation's summary, written when the show ends.
    summary TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX shows_user ON shows (user_id, id);
CREATE INDEX shows_running ON shows (status, lease_until);
-- At most one running show per creator.
CREATE UNIQUE INDEX shows_one_running ON shows (user_id) WHERE status = 'running';

-- Every trainee action with its simulated timestamp, in order.
CREATE TABLE show_actions (
    show_id BIGINT NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    -- JSON of the simulation's action.
    payload TEXT NOT NULL,
    -- The reply text of an answer, shown in the feed and the report.
    body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (show_id, seq)
);

-- The viewers' questions, and the trainee's answers.
CREATE TABLE show_comments (
    show_id BIGINT NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
    comment_id BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    viewer INTEGER NOT NULL,
    topic TEXT NOT NULL,
    variant INTEGER NOT NULL,
    product_id BIGINT,
    answered_ms BIGINT,
    answer TEXT,
    overclaim BOOLEAN NOT NULL,
    PRIMARY KEY (show_id, comment_id)
);

-- One row per simulated minute: the audience curve for the live page and the chart.
CREATE TABLE show_minutes (
    show_id BIGINT NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
    minute INTEGER NOT NULL,
    -- Simulated seconds stored for this minute, and viewers summed over them.
    ticks INTEGER NOT NULL,
    viewer_seconds BIGINT NOT NULL,
    peak INTEGER NOT NULL,
    arrivals INTEGER NOT NULL,
    comments INTEGER NOT NULL,
    orders INTEGER NOT NULL,
    PRIMARY KEY (show_id, minute)
);

-- A graduate's certificate; `code` is the unguessable public verification code.
CREATE TABLE certificates (
    code TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_slug TEXT NOT NULL,
    course_title TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    show_id BIGINT,
    issued_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, course_slug)
);
