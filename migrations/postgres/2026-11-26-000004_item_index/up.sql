-- Item analysis of all attempts reads a quiz's attempts in id order.
CREATE INDEX quiz_attempts_module ON quiz_attempts (course_slug, module_slug, id);
