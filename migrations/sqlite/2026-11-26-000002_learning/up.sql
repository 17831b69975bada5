CREATE TABLE lesson_completions (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_slug TEXT NOT NULL,
    module_slug TEXT NOT NULL,
    lesson_slug TEXT NOT NULL,
    completed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, course_slug, module_slug, lesson_slug)
);

CREATE TABLE quiz_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_slug TEXT NOT NULL,
    module_slug TEXT NOT NULL,
    attempt_number INTEGER NOT NULL,
    quiz_version TEXT NOT NULL,
    score_milli BIGINT NOT NULL,
    max_milli BIGINT NOT NULL,
    passed BOOLEAN NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, course_slug, module_slug, attempt_number)
);

CREATE TABLE quiz_answers (
    attempt_id INTEGER NOT NULL REFERENCES quiz_attempts (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    score_milli BIGINT NOT NULL,
    max_milli BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, question_id)
);
