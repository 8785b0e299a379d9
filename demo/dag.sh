#!/usr/bin/env bash
# A DAG run with curl (python3 reads the JSON answers): a seed task whose release spawns A and B
# and a final task C that fans in from both. Start a server first (./scripts/start), then:
# demo/dag.sh [http://127.0.0.1:3000/]
set -euo pipefail
BASE="${1:-${CREW_API_BASE_URL:-http://127.0.0.1:3000/}}"
api() { curl -sS -f -X "$1" "${BASE}api/v1/$2" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

group=$(api POST task_groups '{"name":"curl demo"}' | field '["_id"]')
echo "group $group"
api POST "task_group/$group/tasks" '{"name":"seed","channel":"demo_seed","isSeed":true,"input":{"n":3}}' >/dev/null

# Worker 1 takes the seed and releases it with a continuation DAG: A and B, then C after both.
seed=$(api POST channel/demo_seed/acquire '{"workerId":"w1"}' | field '["task"]["_id"]')
api POST "task/$seed/release" '{"workerId":"w1","output":{"seeded":true},"children":[
  {"_child_id":"c","_parent_ids":["a","b"],"name":"C (fan-in)","channel":"demo_step"},
  {"_child_id":"a","name":"A","channel":"demo_step","input":{"part":1}},
  {"_child_id":"b","name":"B","channel":"demo_step","input":{"part":2}}]}' >/dev/null
echo "seed released with 3 children"

# Worker 2 drains the steps; C only becomes acquirable once A and B are complete.
while true; do
  got=$(api POST channel/demo_step/acquire '{"workerId":"w2"}')
  id=$(echo "$got" | python3 -c 'import json,sys; t=json.load(sys.stdin)["task"]; print(t["_id"] if t else "")')
  [ -z "$id" ] && break
  name=$(echo "$got" | field '["task"]["name"]')
  parents=$(echo "$got" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["parents"]))')
  api POST "task/$id/release" "{\"workerId\":\"w2\",\"output\":{\"done\":\"$name\"}}" >/dev/null
  echo "w2 ran $name (it had $parents parent(s))"
done
api GET "task_group/$group/tasks" | python3 -c '
import json, sys
for t in reversed(json.load(sys.stdin)):
    print("%-12s complete=%s output=%s" % (t["name"], t["isComplete"], json.dumps(t["output"])))'
