DROP TABLE app_secrets;
DROP TABLE sessions;
DROP TABLE creator_profiles;
DROP TABLE users;
