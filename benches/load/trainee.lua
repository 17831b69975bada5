-- wrk script, journey (a): logged-in trainees reading lessons and answering quizzes.
-- Each request takes one of the sessions prepared by scripts/load.sh (cookie and CSRF
-- token from a real login) and does one step of a learner's visit:
--   55 % read a lesson            GET  /courses/<course>/<module>/<lesson>
--   10 % mark a lesson complete   POST /courses/<course>/<module>/<lesson>/complete
--   10 % open the quiz            GET  /courses/<course>/<module>/quiz
--   10 % submit the quiz          POST /courses/<course>/<module>/quiz (random answers)
--   10 % the dashboard            GET  /learn
--    5 % the course page          GET  /courses/<course>
-- Environment: LOAD_LUA_DIR (this folder), LOAD_SESSIONS ("cookie|csrf,..."),
-- LOAD_LESSONS (lesson paths, comma-separated), LOAD_QUIZ_PATH, LOAD_QUIZ
-- ("q-id:radio:opt/opt;q-id:checkbox:opt/opt;q-id:text:" from the quiz form).
local common = dofile(os.getenv("LOAD_LUA_DIR") .. "/common.lua")

local sessions = common.sessions("LOAD_SESSIONS")
local lessons = common.split(os.getenv("LOAD_LESSONS"), ",")
local quiz_path = os.getenv("LOAD_QUIZ_PATH")
local course_path = string.match(quiz_path, "^(/courses/[^/]+)/")
local questions = {}
for _, spec in ipairs(common.split(os.getenv("LOAD_QUIZ") or "", ";")) do
  local name, kind, options = string.match(spec, "^([^:]+):([^:]+):(.*)$")
  table.insert(questions, { name = name, kind = kind, options = common.split(options, "/") })
end
local typed = { "practise", "sandbox", "selling", "I am not sure" }

local function quiz_body(csrf)
  local parts = { "csrf=" .. csrf }
  for _, q in ipairs(questions) do
    if q.kind == "checkbox" then
      local picked = false
      for _, o in ipairs(q.options) do
        if math.random() < 0.6 then
          table.insert(parts, q.name .. "=" .. common.urlencode(o))
          picked = true
        end
      end
      if not picked then table.insert(parts, q.name .. "=" .. common.urlencode(q.options[1])) end
    elseif q.kind == "radio" then
      table.insert(parts, q.name .. "=" .. common.urlencode(q.options[math.random(#q.options)]))
    else
      table.insert(parts, q.name .. "=" .. common.urlencode(typed[math.random(#typed)]))
    end
  end
  return table.concat(parts, "&")
end

request = function()
  local s = sessions[math.random(#sessions)]
  local headers = { ["Cookie"] = s.cookie }
  local r = math.random(100)
  if r <= 55 then
    return wrk.format("GET", lessons[math.random(#lessons)], headers)
  elseif r <= 65 then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", lessons[math.random(#lessons)] .. "/complete", headers, "csrf=" .. s.csrf)
  elseif r <= 75 then
    return wrk.format("GET", quiz_path, headers)
  elseif r <= 85 then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", quiz_path, headers, quiz_body(s.csrf))
  elseif r <= 95 then
    return wrk.format("GET", "/learn", headers)
  else
    return wrk.format("GET", course_path, headers)
  end
end

common.install("trainees")
