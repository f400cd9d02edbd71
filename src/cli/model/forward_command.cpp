// `c2s forward --model DIR --ids 5,17,42`: one forward pass over token ids,
// printing the last position's full logits and the argmax at every position,
// for checking c2s against other implementations.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <iostream>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "core/error.hpp"

namespace c2s {

void add_forward_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    std::string ids;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("forward", model_command_description("forward"));
  add_model_options(cmd, args->model);
  cmd->add_option("--ids", args->ids, "Token ids, comma-separated (e.g. 5,17,42)")->required();
  set.add(cmd, [args, &g = set.global] {
    auto ids = parse_id_list(args->ids, "--ids");
    auto session = open_model_session(args->model, g);
    const auto& model = *session.model;
    PromptInput input{std::nullopt, ids, nullptr};
    prompt_token_ids({input}, session);  // checks the ids against the vocabulary
    c10::InferenceMode inference;
    const auto T = std::int64_t(ids.size());
    auto device = model.options().device;
    ForwardInput in{at::tensor(ids, at::kLong).view({1, T}).to(device), at::arange(T, at::kLong).view({1, T}).to(device),
                    at::ones({1, T}, at::TensorOptions().dtype(at::kBool).device(device))};
    auto logits = model.logits(model.forward(in, nullptr)[0]).cpu();  // [T, V]
    auto argmax = logits.argmax(-1).contiguous();
    auto last = logits[T - 1].contiguous();
    nlohmann::ordered_json out;
    out["model_type"] = model.config().model_type;
    out["dtype"] = dtype_name(model.options().dtype);
    out["input_ids"] = ids;
    out["argmax"] = std::vector<std::int64_t>(argmax.data_ptr<std::int64_t>(), argmax.data_ptr<std::int64_t>() + T);
    out["last_logits"] = std::vector<float>(last.data_ptr<float>(), last.data_ptr<float>() + last.numel());
    if (g.json) {
      std::cout << out.dump() << "\n";
    } else {
      std::cout << "argmax per position: " << out["argmax"].dump() << "\n"
                << "last position: argmax " << argmax[T - 1].item<std::int64_t>() << ", logit "
                << last.max().item<float>() << ", logsumexp " << last.logsumexp(0).item<float>() << "\n";
    }
  });
}

}  // namespace c2s
