DROP INDEX quiz_attempts_module;
