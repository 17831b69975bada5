-- wrk script, journey (c): instructors opening the cohort pages of a course.
--   40 % cohort progress       GET /instructor/courses/<course>/progress
--   30 % a quiz's item analysis GET /instructor/courses/<course>/quizzes/<module>
--   20 % one trainee            GET /instructor/courses/<course>/trainees/<id>
--   10 % the course list        GET /instructor/courses
-- Environment: LOAD_LUA_DIR, LOAD_SESSIONS ("cookie|csrf,..."), LOAD_COURSE (slug),
-- LOAD_MODULES (module slugs with a quiz), LOAD_TRAINEE_IDS (user ids), comma-separated.
local common = dofile(os.getenv("LOAD_LUA_DIR") .. "/common.lua")

local sessions = common.sessions("LOAD_SESSIONS")
local course = os.getenv("LOAD_COURSE")
local modules = common.split(os.getenv("LOAD_MODULES"), ",")
local trainees = common.split(os.getenv("LOAD_TRAINEE_IDS"), ",")
local base = "/instructor/courses/" .. course

request = function()
  local s = sessions[math.random(#sessions)]
  local headers = { ["Cookie"] = s.cookie }
  local r = math.random(100)
  local path
  if r <= 40 then
    path = base .. "/progress"
  elseif r <= 70 then
    path = base .. "/quizzes/" .. modules[math.random(#modules)]
  elseif r <= 90 then
    path = base .. "/trainees/" .. trainees[math.random(#trainees)]
  else
    path = "/instructor/courses"
  end
  return wrk.format("GET", path, headers)
end

common.install("instructors")
