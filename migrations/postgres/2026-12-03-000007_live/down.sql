DROP TABLE certificates;
DROP TABLE show_minutes;
DROP TABLE show_comments;
DROP TABLE show_actions;
DROP TABLE shows;
