DROP TABLE quiz_answers;
DROP TABLE quiz_attempts;
DROP TABLE lesson_completions;
