// Operators: the HTTP push workers' records (reference §2.3, §5.9). Dispatch is in dispatch/.
#include "engine/txn.h"

namespace crew::engine {

using storage::Cf;

namespace {

Event OperatorEvent(const char* name,
                    std::variant<std::monostate, Task, Group, Operator, std::string> payload) {
  Event e;
  e.room = "operators";
  e.name = name;
  e.payload = std::move(payload);
  return e;
}

}  // namespace

Result<Operator> Engine::GetOperator(const Id& id) const {
  ASSIGN_OR_RETURN(auto raw, store_->Get(Cf::kOperators, storage::IdKey(id)));
  if (!raw) return Status::NotFound("Operator with id " + id.Hex() + " not found!");
  Operator o;
  RETURN_IF_ERROR(DecodeOperator(*raw, &o));
  return o;
}

Result<std::vector<Operator>> Engine::ListOperators(int64_t limit, int64_t skip) const {
  std::vector<Operator> out;
  int64_t seen = 0;
  Status decode_status;
  RETURN_IF_ERROR(store_->Scan(Cf::kOperators, "", true, [&](std::string_view, std::string_view v) {
    if (seen++ < skip) return true;
    Operator o;
    decode_status = DecodeOperator(v, &o);
    if (!decode_status.ok()) return false;
    out.push_back(std::move(o));
    return limit <= 0 || static_cast<int64_t>(out.size()) < limit;
  }));
  RETURN_IF_ERROR(decode_status);
  return out;
}

Result<Operator> Engine::CreateOperator(const OperatorFields& f) {
  return Write<Operator>([&](Txn& txn) -> Result<Operator> {
    Operator o;
    o.id = ids_.Next();
    o.channel = f.channel.value_or("");
    o.url = f.url.value_or("");
    o.request_config = f.request_config.value_or("null");
    o.is_paused = f.is_paused.value_or(std::nullopt);
    o.created_at = IdSource::CreatedMs(o.id);
    txn.PutOperator(o, true);
    txn.Emit(OperatorEvent("operator:create", o));
    return o;
  });
}

Result<Operator> Engine::UpdateOperator(const Id& id, const OperatorFields& f) {
  return Write<Operator>([&](Txn& txn) -> Result<Operator> {
    ASSIGN_OR_RETURN(Operator o, GetOperator(id));
    if (f.channel) o.channel = *f.channel;
    if (f.url) o.url = *f.url;
    if (f.request_config) o.request_config = *f.request_config;
    if (f.is_paused) o.is_paused = *f.is_paused;
    txn.PutOperator(o, false);
    txn.Emit(OperatorEvent("operator:update", o));
    return o;
  });
}

Status Engine::DeleteOperator(const Id& id) {
  return Write<bool>([&](Txn& txn) -> Result<bool> {
           ASSIGN_OR_RETURN(Operator o, GetOperator(id));
           txn.EraseOperator(id);
           txn.Emit(OperatorEvent("operator:delete", o));
           return true;
         })
      .status();
}

}  // namespace crew::engine
