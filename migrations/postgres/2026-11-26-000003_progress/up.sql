-- Groups of trainees (an intake, a class), joined at registration with an invite code.
CREATE TABLE cohorts (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    invite_code TEXT NOT NULL UNIQUE,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);

-- A trainee belongs to at most one group.
CREATE TABLE cohort_members (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cohort_id BIGINT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    joined_at TIMESTAMP NOT NULL
);
CREATE INDEX cohort_members_cohort ON cohort_members (cohort_id);

-- One row per trainee and course, kept up to date as progress is recorded, so the
-- cohort pages read one small row per trainee instead of scanning their history.
CREATE TABLE enrolments (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_slug TEXT NOT NULL,
    enrolled_at TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    modules_done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, course_slug)
);
CREATE INDEX enrolments_course ON enrolments (course_slug, enrolled_at);

-- The moment each module was first completed (quiz passed, or every lesson done).
CREATE TABLE module_completions (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_slug TEXT NOT NULL,
    module_slug TEXT NOT NULL,
    completed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, course_slug, module_slug)
);
CREATE INDEX module_completions_course ON module_completions (course_slug, module_slug);

-- Lesson page views, for "continue where you left off" and time spent.
CREATE TABLE lesson_visits (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_slug TEXT NOT NULL,
    module_slug TEXT NOT NULL,
    lesson_slug TEXT NOT NULL,
    visited_at TIMESTAMP NOT NULL
);
CREATE INDEX lesson_visits_user ON lesson_visits (user_id, course_slug, visited_at);

-- Spaced review: one FSRS card per question a trainee answered wrong.
CREATE TABLE review_cards (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_slug TEXT NOT NULL,
    module_slug TEXT NOT NULL,
    question_id TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    stability DOUBLE PRECISION NOT NULL,
    difficulty DOUBLE PRECISION NOT NULL,
    elapsed_days BIGINT NOT NULL,
    scheduled_days BIGINT NOT NULL,
    reps INTEGER NOT NULL,
    lapses INTEGER NOT NULL,
    state INTEGER NOT NULL,
    last_review_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, course_slug, module_slug, question_id)
);
CREATE INDEX review_cards_due ON review_cards (user_id, due_at);

-- Review answers live apart from quiz attempts: they never change a grade.
CREATE TABLE review_answers (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_slug TEXT NOT NULL,
    module_slug TEXT NOT NULL,
    question_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    score_milli BIGINT NOT NULL,
    max_milli BIGINT NOT NULL,
    rating INTEGER NOT NULL,
    reviewed_at TIMESTAMP NOT NULL,
    next_due_at TIMESTAMP NOT NULL
);
CREATE INDEX review_answers_user ON review_answers (user_id, reviewed_at);

CREATE INDEX quiz_attempts_course ON quiz_attempts (course_slug, module_slug, attempt_number);
CREATE INDEX lesson_completions_course ON lesson_completions (course_slug, completed_at);

-- Progress recorded before this migration.
INSERT INTO enrolments (user_id, course_slug, enrolled_at, last_activity_at, completed_at, modules_done)
SELECT user_id, course_slug, MIN(t), MAX(t), NULL, 0 FROM (
    SELECT user_id, course_slug, completed_at AS t FROM lesson_completions
    UNION ALL
    SELECT user_id, course_slug, submitted_at AS t FROM quiz_attempts
) AS history
GROUP BY user_id, course_slug;

INSERT INTO module_completions (user_id, course_slug, module_slug, completed_at)
SELECT user_id, course_slug, module_slug, MIN(submitted_at) FROM quiz_attempts
WHERE passed
GROUP BY user_id, course_slug, module_slug;
