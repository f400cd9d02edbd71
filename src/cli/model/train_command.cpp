// `c2s train`: fine-tunes a model folder (all weights, or LoRA adapters) or
// trains one from scratch on a task's prompt examples, with validation,
// checkpoints that resume exactly, budgets, and data parallelism over
// processes (--nproc on one machine, --rank/--world-size across machines).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "cli/example_options.hpp"
#include "cli/list_option.hpp"
#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/process_memory.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "data/count_thinning.hpp"
#include "data/sentence_store.hpp"
#include "data/store_split.hpp"
#include "model/compute_options.hpp"
#include "model/lora.hpp"
#include "model/model_config.hpp"
#include "tasks/cell_annotation.hpp"
#include "text/gene_tokenizer.hpp"
#include "text/prompt_examples.hpp"
#include "text/model_task.hpp"
#include "train/trainer.hpp"
#include "train/training_checkpoint.hpp"

namespace c2s {

namespace fs = std::filesystem;

namespace {

struct TrainArgs {
  std::string model, init, arch = "gpt_neox", tokenizer, data, examples, validation_examples, output;
  ExampleArgs example;
  std::string loss_on = "response", schedule = "linear";
  std::int64_t batch_size = 8, grad_accum = 1, warmup_steps = 0, epochs = 1, max_steps = 0, max_length = 0,
               eval_every = 0, eval_examples = 256, eval_accuracy = 0, save_every = 0, log_every = 1,
               thinned_copies = 0;
  double thinning_min = 0.5;
  double lr = 1e-4, weight_decay = 0.0, beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8, max_grad_norm = 1.0,
         max_minutes = 0;
  bool bf16 = false, resume = false, checkpointing = false;
  bool lora = false, merge_lora = false;
  std::int64_t lora_rank = 8;
  double lora_alpha = 16, lora_dropout = 0.05;
  std::string lora_targets;
  int nproc = 1, rank = -1, world_size = 1, master_port = 29500;
  std::string master_addr = "127.0.0.1", file_store, interface;
};

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) { g_interrupted = true; }

// The genes of a gene tokenizer made for training from scratch: those that
// the training and validation cells' sentences hold (each cell's first
// `top_k` genes; 0: all of them; every cell when the store is not split), in
// store order. A gene no example shows would only widen the embeddings and
// the output head (with 50-gene sentences of 20,000-gene data, over 95% of
// the vocabulary). Cells to annotate later skip the genes the model lacks
// (check_store_genes), as for any model.
std::vector<std::string> sentence_gene_vocabulary(const SentenceStore& store, std::int64_t top_k) {
  std::vector<std::int64_t> cells;
  if (store.obs().find("split")) {
    cells = cells_in_split(store, "train");
    const auto validation = cells_in_split(store, "validation");
    cells.insert(cells.end(), validation.begin(), validation.end());
    std::sort(cells.begin(), cells.end());
  } else {
    for (std::int64_t c = 0; c < store.n_cells(); ++c) cells.push_back(c);
  }
  const auto seen = genes_in_sentences(store, cells, top_k);
  std::vector<std::string> genes;
  for (std::size_t g = 0; g < seen.size(); ++g)
    if (seen[g]) genes.push_back(store.genes()[g]);
  return genes;
}

// The examples to train and validate on, with the task metadata the model
// folder records.
struct Examples {
  std::vector<FormattedPrompt> train, validation;
  nlohmann::json task = nlohmann::json::object();
  // With --data: the task, and for --eval-accuracy a fixed sample of
  // validation cells with their true labels and top-k sentences.
  std::optional<ModelTask> model_task;
  std::vector<std::string> accuracy_sentences, accuracy_truth;
  std::vector<std::uint64_t> accuracy_keys;
};

// `model_genes`: the genes of a gene tokenizer made for the run (empty: the
// store's genes are the model's).
Examples gather_examples(const TrainArgs& a, const CLI::App* cmd, const std::vector<std::string>& model_genes) {
  Examples ex;
  if (!a.examples.empty()) {
    ex.train = read_task_examples(a.examples);
    if (!a.validation_examples.empty()) ex.validation = read_task_examples(a.validation_examples);
    ex.task = {{"examples", a.examples}};
    return ex;
  }
  const PromptFormatter formatter = example_formatter(a.example);
  ExampleOptions options = example_options(cmd, a.example);
  SentenceStore store(a.data);
  // Split stores (c2s split) train on "train" and validate on "validation";
  // others train on every cell and validate on nothing. A split store
  // without training cells is refused, never trained on whole (its test
  // cells included).
  const bool split = store.obs().find("split") != nullptr;
  if (split && !store_has_split(store, "train"))
    throw Error(a.data, "the store's split column has no \"train\" cells (re-split it: c2s split STORE --fractions ...)");
  if (split) options.split = "train";
  std::optional<CountThinning> thinning;  // refused here, before the examples, when the store is not counts
  if (a.thinned_copies > 0) thinning = count_thinning(store, a.thinning_min, 0);
  ExamplePlan plan = plan_examples(store, options);
  ex.train = format_plan(store, plan, formatter);
  // --thinned-copies: each copy of the training examples is made from the
  // cells' counts thinned anew (a kept fraction per cell and copy), as
  // shallower libraries of the same cells would show them, each in a template
  // drawn anew.
  for (std::int64_t copy = 1; copy <= a.thinned_copies; ++copy) {
    ExampleArgs copy_args = a.example;
    copy_args.seed = Rng(a.example.seed, 0x7468696eull + std::uint64_t(copy)).next();
    thinning->seed = copy_args.seed;
    auto thinned = format_plan(store, plan, example_formatter(copy_args), &*thinning);
    ex.train.insert(ex.train.end(), std::make_move_iterator(thinned.begin()), std::make_move_iterator(thinned.end()));
  }
  if (split && store_has_split(store, "validation")) {
    ExampleOptions v = options;
    v.split = "validation";
    v.max_examples = 0;
    ExamplePlan vplan = plan_examples(store, v);
    ex.validation = format_plan(store, vplan, formatter);
    if (a.eval_accuracy > 0) {
      if (plan.options.task != PromptTask::CellTypePrediction && plan.options.task != PromptTask::LabelPrediction)
        throw UsageError("--eval-accuracy needs a label task (cell_type_prediction, label_prediction)");
      std::vector<std::size_t> chosen(vplan.size());
      std::iota(chosen.begin(), chosen.end(), std::size_t(0));
      Rng rng(a.example.seed, 0x616363ull);  // the same cells at every evaluation
      shuffle(chosen, rng);
      if (std::int64_t(chosen.size()) > a.eval_accuracy) chosen.resize(std::size_t(a.eval_accuracy));
      std::vector<std::int64_t> cells;
      for (std::size_t i : chosen) cells.push_back(vplan.cells_of(i)[0]);
      StoreSentences sentences;
      sentences.load(store, cells, plan.options.top_k);
      for (std::size_t k = 0; k < chosen.size(); ++k) {
        ex.accuracy_sentences.push_back(sentences.sentence(cells[k]));
        ex.accuracy_keys.push_back(vplan.key[chosen[k]]);
        ex.accuracy_truth.push_back(vplan.labels[std::size_t(vplan.label[chosen[k]])]);
      }
    }
  }
  if (a.eval_accuracy > 0 && ex.accuracy_sentences.empty())
    throw UsageError("--eval-accuracy needs a store with a validation split (c2s split)");
  ModelTask task;
  task.task = plan.options.task;
  task.label_column = plan.options.label_column;
  task.label_name = plan.options.label_name;
  task.labels = plan.labels;
  task.label_counts.assign(plan.labels.size(), 0);
  for (std::int32_t l : plan.label)
    if (l >= 0) ++task.label_counts[std::size_t(l)];
  task.top_k = plan.options.top_k;
  task.organism = plan.options.organism;
  task.templates = formatter.templates();
  task.seed = a.example.seed;
  task.genes = model_genes.empty() ? store.genes() : model_genes;
  task.group_by = plan.options.group_by;
  task.abstract_column = plan.options.abstract_column;
  if (task.task == PromptTask::PerturbationPrediction) {
    // The labels are the perturbations (the condition column's values).
    task.label_column = plan.options.condition_column;
    task.label_name = default_label_name(task.label_column);
    task.condition_column = plan.options.condition_column;
    task.control_value = plan.options.control_value;
    task.match_column = plan.options.match_column;
  }
  ex.task = model_task_json(task, a.data);
  ex.model_task = std::move(task);
  return ex;
}

// Bytes training needs: weights, gradients and AdamW's two moments in
// float32 for the trained tensors (weights alone for frozen ones), plus the
// activations autograd keeps for one micro-batch (an estimate from the
// shape: about 34 values per hidden unit and token per layer, as for
// transformer training generally, and the logits three times). With
// activation checkpointing, one layer's activations and every layer's input.
std::uint64_t training_memory_estimate(const ModelConfig& c, std::uint64_t trained, std::uint64_t frozen,
                                       std::int64_t batch, std::int64_t length, bool bf16, bool checkpointing) {
  const double tokens = double(batch) * double(length);
  const double per_value = bf16 ? 2.0 : 4.0;
  const double layer = tokens * double(c.hidden_size) * 34.0 * per_value / 2.0;
  const double kept = checkpointing ? layer + tokens * double(c.num_layers) * double(c.hidden_size) * per_value
                                    : layer * double(c.num_layers);
  const double activations = kept + tokens * double(c.vocab_size) * 4.0 * 3.0;
  return std::uint64_t(16.0 * double(trained) + 4.0 * double(frozen) + activations);
}

std::string gib(std::uint64_t bytes) { return fmt::format("{:.2f} GiB", double(bytes) / double(1ull << 30)); }

// --nproc N: this process is rank 0; ranks 1..N-1 are the same program with
// the same arguments and --rank/--world-size, meeting through a file store
// in the output folder.
std::vector<pid_t> launch_ranks(int nproc, const std::string& store) {
  // This process's own arguments, as the kernel keeps them.
  std::vector<std::string> own;
  {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string arg;
    bool skip_value = false;
    while (std::getline(in, arg, '\0')) {
      if (skip_value) {
        skip_value = false;
        continue;
      }
      if (arg == "--nproc") {
        skip_value = true;
        continue;
      }
      if (arg.rfind("--nproc=", 0) == 0) continue;
      own.push_back(arg);
    }
  }
  std::vector<pid_t> children;
  for (int r = 1; r < nproc; ++r) {
    std::vector<std::string> args = own;
    for (std::string extra : {std::string("--rank"), std::to_string(r), std::string("--world-size"),
                              std::to_string(nproc), std::string("--file-store"), store})
      args.push_back(extra);
    std::vector<char*> raw;
    for (auto& s : args) raw.push_back(s.data());
    raw.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw Error("--nproc", "cannot start another process");
    if (pid == 0) {
      ::execv("/proc/self/exe", raw.data());
      std::_Exit(127);
    }
    children.push_back(pid);
  }
  return children;
}

}  // namespace

void add_train_command(CommandSet& set) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = set.app.add_subcommand("train", model_command_description("train"));
  TrainArgs& a = *args;
  auto* model = cmd->add_option("--model", a.model, "Model folder to fine-tune (Hugging Face layout, with its tokenizer)");
  auto* init = cmd->add_option("--init", a.init,
                               "Train from scratch: shallow, tiny, small or base (sized for CPUs), or a config.json");
  model->excludes(init);
  cmd->add_option("--arch", a.arch, "With --init shallow|tiny|small|base: gpt_neox or gemma2")->capture_default_str();
  cmd->add_option("--tokenizer", a.tokenizer,
                  "With --init: the tokenizer folder (default with --data: a gene tokenizer of the genes the "
                  "training and validation sentences hold, made in OUT/gene_tokenizer)");
  auto* data = cmd->add_option("--data", a.data, "Sentence store whose cells make the examples (with --task)");
  auto* examples = cmd->add_option("--examples", a.examples, "Task examples JSONL (c2s prompts output) instead of --data");
  data->excludes(examples);
  cmd->add_option("--validation-examples", a.validation_examples, "With --examples: validation examples JSONL");
  add_example_options(cmd, a.example);
  cmd->add_option("-o,--output", a.output, "Run folder: checkpoint-last/, checkpoint-best/, train_log.jsonl")
      ->required();
  cmd->add_option("--loss-on", a.loss_on, "response (prompt tokens not trained on) or all")->capture_default_str();
  cmd->add_option("--batch-size", a.batch_size, "Examples per micro-batch (per process)")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--grad-accum", a.grad_accum, "Micro-batches per optimiser step (per process)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", a.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", a.weight_decay, "AdamW weight decay (not on biases and norms)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--adam-beta1", a.beta1, "AdamW beta1")->capture_default_str();
  cmd->add_option("--adam-beta2", a.beta2, "AdamW beta2")->capture_default_str();
  cmd->add_option("--adam-eps", a.adam_eps, "AdamW epsilon")->capture_default_str();
  cmd->add_option("--schedule", a.schedule, "Learning-rate schedule: linear, cosine or constant (after warmup)")
      ->capture_default_str();
  cmd->add_option("--warmup-steps", a.warmup_steps, "Steps of linear warmup from 0")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-grad-norm", a.max_grad_norm, "Clip the gradients' global norm (0: no clipping)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--epochs", a.epochs, "Passes over the training examples")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-steps", a.max_steps, "Stop after this many optimiser steps (0: the epochs decide)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-minutes", a.max_minutes, "Stop cleanly (and save) before this much training time")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-length", a.max_length, "Cut examples to this many tokens (0: the model's context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--thinned-copies", a.thinned_copies,
                  "Also train on N copies of the training cells with their counts binomially thinned (each cell "
                  "keeps a fraction of its molecules drawn from [--thinning-min, 1]): cells as shallower "
                  "libraries show them (--data stores of counts)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--thinning-min", a.thinning_min, "With --thinned-copies: the smallest kept fraction")
      ->capture_default_str()->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--eval-every", a.eval_every, "Validation loss every N steps (0: at the end only)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--eval-examples", a.eval_examples, "Validation examples per evaluation (a fixed sample; 0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--eval-accuracy", a.eval_accuracy,
                  "At each evaluation, also the label accuracy on this many validation cells (a fixed sample), "
                  "every label scored as c2s annotate does (label tasks on --data)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--save-every", a.save_every, "Save checkpoint-last every N steps (0: at the end only)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--log-every", a.log_every, "Log every N steps")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--bf16", a.bf16, "bfloat16 autocast (float32 master weights)");
  cmd->add_flag("--activation-checkpointing", a.checkpointing,
                "Recompute each layer in the backward pass instead of keeping its activations (long sequences)");
  cmd->add_flag("--resume", a.resume, "Continue the run in the output folder from its checkpoint-last");
  cmd->add_flag("--lora", a.lora, "Train LoRA adapters only (the base weights stay frozen)");
  cmd->add_option("--lora-rank", a.lora_rank, "LoRA rank")->capture_default_str();
  cmd->add_option("--lora-alpha", a.lora_alpha, "LoRA alpha (scale alpha/rank)")->capture_default_str();
  cmd->add_option("--lora-dropout", a.lora_dropout, "Dropout on the adapters' inputs while training")
      ->capture_default_str();
  cmd->add_option("--lora-targets", a.lora_targets, "Comma-separated module names (default: per architecture)");
  cmd->add_flag("--merge-lora", a.merge_lora, "At the end, also write the merged model to OUT/merged");
  cmd->add_option("--nproc", a.nproc, "Data-parallel processes on this machine")->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--rank", a.rank, "Multi-machine launch: this process's rank");
  cmd->add_option("--world-size", a.world_size, "Multi-machine launch: number of processes")->check(CLI::Range(1, 65536));
  cmd->add_option("--master-addr", a.master_addr, "Multi-machine launch: rank 0's address")->capture_default_str();
  cmd->add_option("--master-port", a.master_port, "Multi-machine launch: rank 0's port")->capture_default_str();
  cmd->add_option("--file-store", a.file_store, "Multi-machine launch: a file on a shared file system to meet through");
  cmd->add_option("--interface", a.interface, "Network interface for data parallel traffic");

  set.add(cmd, [args, cmd, &g = set.global] {
    TrainArgs& a = *args;
    const auto started = std::chrono::steady_clock::now();
    // Everything that can be wrong with the flags, before any work.
    if (a.model.empty() && a.init.empty() && !a.resume) throw UsageError("give --model DIR or --init SIZE|CONFIG");
    if (a.data.empty() == a.examples.empty()) throw UsageError("give --data STORE (with --task) or --examples FILE");
    if (!a.data.empty() && a.example.task.empty()) throw UsageError("--data needs --task");
    if (!a.init.empty() && a.tokenizer.empty() && a.data.empty() && !a.resume)
      throw UsageError("--init with --examples needs --tokenizer (e.g. a gene tokenizer made by `c2s tokenizer build STORE -o DIR`)");
    if (a.loss_on != "response" && a.loss_on != "all") throw UsageError("--loss-on must be response or all");
    if (!(a.lr > 0) || !std::isfinite(a.lr)) throw UsageError("--lr must be a positive number");
    if (a.lora && !a.init.empty()) throw UsageError("--lora needs a trained --model to adapt, not --init");
    if (a.merge_lora && !a.lora) throw UsageError("--merge-lora needs --lora");
    if (a.eval_accuracy > 0 && a.data.empty()) throw UsageError("--eval-accuracy needs --data (a split store)");
    if (a.thinned_copies > 0 && a.data.empty()) throw UsageError("--thinned-copies needs --data (a store of counts)");
    if (a.nproc > 1 && a.rank >= 0) throw UsageError("give --nproc (one machine) or --rank/--world-size, not both");
    const LrSchedule schedule = parse_lr_schedule(a.schedule);
    const bool launcher = a.nproc > 1 && a.rank < 0;
    const int rank = launcher ? 0 : std::max(a.rank, 0);
    const int world = launcher ? a.nproc : a.world_size;
    if (rank >= world) throw UsageError("--rank must be below --world-size");

    const fs::path out(a.output);
    std::error_code ec;
    const bool made_out = !fs::exists(out);
    fs::create_directories(out, ec);
    if (!fs::is_directory(out) || ::access(out.c_str(), W_OK) != 0)
      throw Error(a.output, "cannot write to the output folder");
    // A run folder this command made is removed again when the command fails
    // before training starts (bad data, memory estimate...): nothing is left
    // that looks like a run.
    struct RemoveOnEarlyFailure {
      fs::path folder;
      bool armed = false;
      ~RemoveOnEarlyFailure() {
        std::error_code ignored;
        if (armed && std::uncaught_exceptions() > 0) fs::remove_all(folder, ignored);
      }
    } early_failure{out, made_out && rank == 0};
    const fs::path last = out / "checkpoint-last", best = out / "checkpoint-best";
    if (a.resume && !fs::exists(last / "trainer_state.json"))
      throw Error(last.string(), "nothing to resume (no trainer_state.json)");
    if (!a.resume && rank == 0 && fs::exists(last))
      throw UsageError(a.output + " already holds a run (checkpoint-last): --resume it or choose another folder");

    // From scratch without --tokenizer: a gene tokenizer of the store (the
    // genes its examples show, its label values and the prompt templates),
    // made once by rank 0 before the other ranks start.
    std::string tokenizer_dir = a.tokenizer;
    std::vector<std::string> model_genes;
    if (!a.init.empty() && a.tokenizer.empty() && !a.data.empty()) {
      const SentenceStore store(a.data);
      model_genes = sentence_gene_vocabulary(store, a.example.top_k);
      if (model_genes.empty()) throw Error(a.data, "no genes in the training cells' sentences");
      if (!a.resume) tokenizer_dir = (out / "gene_tokenizer").string();
      if (!a.resume && rank == 0) {
        std::vector<std::string> templates;
        if (!a.example.prompts.empty()) templates.push_back(a.example.prompts);
        GeneTokenizerInputs inputs = gene_tokenizer_inputs(store, {}, {a.example.organism}, templates);
        inputs.genes = model_genes;
        // Abstracts from a file are response text too (an abstract column's are label values already).
        if (!a.example.abstracts.empty())
          for (const auto& [group, abstract] : load_abstracts(a.example.abstracts)) inputs.labels.push_back(abstract);
        write_gene_tokenizer(inputs, tokenizer_dir);
      }
    }

    // Data-parallel ranks on this machine.
    std::vector<pid_t> children;
    std::string file_store = a.file_store;
    if (launcher) {
      file_store = (out / fmt::format(".ranks-{}", ::getpid())).string();
      children = launch_ranks(a.nproc, file_store);
    }
    const bool lead = rank == 0;
    if (!lead) Progress::set_quiet(true);
    DataParallel parallel(DistributedOptions{rank, world, a.master_addr, a.master_port, file_store, a.interface});
    const int cores = g.threads > 0 ? g.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    set_compute_threads(std::max(1, cores / world));

    // The model and its tokenizer.
    const ComputeOptions options{at::kFloat, default_device()};
    std::unique_ptr<CausalLM> lm;
    std::unique_ptr<Tokenizer> tokenizer;
    fs::path tokenizer_folder;
    std::string base_model = a.model;
    if (a.resume && !a.lora) {
      lm = load_causal_lm(last, options);
      tokenizer_folder = last;
    } else if (!a.model.empty()) {
      lm = load_causal_lm(a.model, options);
      tokenizer_folder = a.model;
    } else {
      tokenizer_folder = tokenizer_dir;
      tokenizer = load_tokenizer(tokenizer_folder);
      const auto& ids = tokenizer->special_ids();
      if (!ids.eos) throw Error(tokenizer_dir, "tokenizer has no end-of-sequence token");
      const ModelConfig shape =
          fs::exists(a.init) ? parse_model_config(read_json_file(a.init), a.init)
                             : scratch_model_config(a.init, a.arch, std::int64_t(tokenizer->vocab_size()),
                                                    ids.bos.value_or(*ids.eos), *ids.eos, ids.pad.value_or(*ids.eos));
      lm = random_causal_lm(shape, options, a.example.seed);
    }
    if (!tokenizer) tokenizer = load_tokenizer(tokenizer_folder);
    const auto& config = lm->config();
    if (std::int64_t(tokenizer->vocab_size()) > config.vocab_size)
      throw Error(tokenizer_folder.string(), "the tokenizer's " + std::to_string(tokenizer->vocab_size()) +
                                                 " tokens are more than the model's vocab_size " +
                                                 std::to_string(config.vocab_size));

    // The examples.
    Examples ex = gather_examples(a, cmd, model_genes);
    const std::int64_t context = config.max_positions > 0 ? config.max_positions : 2048;
    const std::int64_t max_length = a.max_length > 0 ? std::min(a.max_length, context) : context;
    const TrainingExamples train = tokenize_examples(ex.train, *tokenizer, max_length);
    const TrainingExamples validation = tokenize_examples(ex.validation, *tokenizer, max_length);
    if (train.truncated() > 0)
      warn(fmt::format("{} of {} training examples are longer than {} tokens and were cut", train.truncated(),
                       train.size(), max_length));
    std::int64_t longest = 0;
    for (std::size_t i = 0; i < train.size(); ++i) longest = std::max(longest, train.length(i));

    // What trains.
    NamedTensors params;
    if (a.lora) {
      if (a.resume) {
        params = load_lora(*lm, last);
      } else {
        LoraConfig lc{a.lora_rank, a.lora_alpha, a.lora_dropout, split_list(a.lora_targets)};
        params = attach_lora(*lm, lc, a.example.seed);
      }
      set_lora_training(*lm, true);
    } else {
      params = make_fully_trainable(*lm);
    }
    std::uint64_t trained = 0;
    for (const auto& [name, p] : params) trained += std::uint64_t(p.numel());
    const std::uint64_t total_params = lm->parameter_bytes() / 4;
    const std::uint64_t need = training_memory_estimate(config, trained, total_params - std::min(total_params, trained),
                                                        a.batch_size, longest, a.bf16, a.checkpointing);
    if (const std::uint64_t free = available_memory_bytes(); free > 0 && need > free)
      throw Error("train", "needs about " + gib(need) + " (weights, gradients, AdamW state and one micro-batch of " +
                               std::to_string(a.batch_size) + " x " + std::to_string(longest) +
                               " tokens), more than the " + gib(free) +
                               " available: lower --batch-size or --max-length, or use --lora or --activation-checkpointing");
    {
      std::vector<at::Tensor> start;
      for (auto& [name, p] : params) start.push_back(p.detach());
      parallel.broadcast_from_first(start);
    }

    TrainOptions to;
    to.loss_on = a.loss_on == "all" ? LossOn::AllTokens : LossOn::Response;
    to.micro_batch_size = a.batch_size;
    to.accumulation = a.grad_accum;
    to.seed = a.example.seed;
    to.lr = a.lr;
    to.adamw = {a.beta1, a.beta2, a.adam_eps, a.weight_decay};
    to.schedule = schedule;
    to.warmup_steps = a.warmup_steps;
    to.max_grad_norm = a.max_grad_norm;
    to.epochs = a.epochs;
    to.max_steps = a.max_steps;
    to.bf16_autocast = a.bf16;
    lm->set_activation_checkpointing(a.checkpointing);
    to.pad_id = tokenizer->special_ids().pad.value_or(*tokenizer->special_ids().eos);
    Trainer trainer(*lm, params, train, to, parallel);
    double best_loss = INFINITY;
    std::int64_t best_step = 0;
    if (a.resume) {
      auto state = read_trainer_state(last);
      trainer.restore(state.trainer, state.optimizer);
      const auto& extra = state.trainer.value("extra", nlohmann::json::object());
      if (extra.contains("best_validation_loss") && extra["best_validation_loss"].is_number()) {
        best_loss = extra["best_validation_loss"].get<double>();
        best_step = extra.value("best_step", std::int64_t(0));
      }
    }

    nlohmann::json task = ex.task;
    task["trained_with"] = {{"loss_on", a.loss_on}, {"max_length", max_length}, {"lora", a.lora}};
    const auto tokenizer_copy = tokenizer_files(tokenizer_folder);
    auto save = [&](const fs::path& folder) {
      if (lead)
        save_training_checkpoint(
            folder,
            [&](const fs::path& dir) {
              if (a.lora) save_lora(*lm, dir, base_model);
              else save_causal_lm(*lm, dir);
            },
            tokenizer_copy, task, trainer, {{"best_validation_loss", std::isfinite(best_loss) ? nlohmann::json(best_loss) : nlohmann::json(nullptr)}, {"best_step", best_step}});
      parallel.barrier();
    };

    early_failure.armed = false;  // from here on the run folder holds a log and checkpoints

    // The loop.
    std::ofstream log;
    if (lead) {
      log.open(out / "train_log.jsonl", a.resume ? std::ios::app : std::ios::trunc);
      if (!log) throw Error((out / "train_log.jsonl").string(), "cannot write the training log");
    }
    auto write_log = [&](const nlohmann::json& line) {
      if (!lead) return;
      log << line.dump() << "\n";
      log.flush();
    };
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    const double budget = a.max_minutes * 60.0;
    const double seconds_before = trainer.progress().seconds;
    double run_seconds = 0, mean_step = 0;
    std::int64_t steps_run = 0, input_tokens = 0;
    double last_loss = NAN;
    std::string stopped_by = "done";
    Progress bar("train", std::uint64_t(trainer.total_steps()), "steps");
    bar.advance(std::uint64_t(trainer.progress().step));
    double validation_accuracy = NAN;
    auto evaluate = [&]() {
      if (validation.size() == 0) return double(NAN);
      set_lora_training(*lm, false);
      const double v = trainer.evaluate(validation, a.eval_examples);
      nlohmann::json line = {{"step", trainer.progress().step}, {"validation_loss", v}};
      if (lead && !ex.accuracy_sentences.empty()) {
        CellAnnotator annotator(*lm, *tokenizer, *ex.model_task, {}, AnnotationOptions{AnnotationMode::Constrained, 32, 1});
        const auto predicted = annotator.annotate(ex.accuracy_sentences, ex.accuracy_keys);
        std::size_t correct = 0;
        for (std::size_t i = 0; i < predicted.size(); ++i)
          correct += annotator.labels()[predicted[i].label] == ex.accuracy_truth[i];
        validation_accuracy = double(correct) / double(predicted.size());
        line["validation_accuracy"] = validation_accuracy;
      }
      set_lora_training(*lm, a.lora);
      write_log(line);
      if (v < best_loss) {
        best_loss = v;
        best_step = trainer.progress().step;
        save(best);
      }
      return v;
    };
    double validation_loss = NAN;
    while (!trainer.finished()) {
      bool stop = g_interrupted.load();
      if (budget > 0 && run_seconds + seconds_before + 1.5 * mean_step > budget) stop = true;
      if (parallel.sum(stop ? 1.0 : 0.0) > 0) {
        stopped_by = g_interrupted ? "interrupt" : "max_minutes";
        break;
      }
      const StepRecord r = trainer.step();
      ++steps_run;
      run_seconds += r.seconds;
      trainer.add_seconds(r.seconds);
      mean_step = run_seconds / double(steps_run);
      input_tokens += r.input_tokens;
      last_loss = r.loss;
      bar.advance(1);
      bar.set_detail(fmt::format("loss {:.4f} lr {:.2e} {:.0f} tok/s", r.loss, r.lr, double(input_tokens) / run_seconds));
      if (r.step % a.log_every == 0 || r.skipped) {
        write_log({{"step", r.step}, {"epoch", r.epoch}, {"loss", r.loss}, {"grad_norm", r.grad_norm}, {"lr", r.lr},
                   {"tokens", r.tokens}, {"input_tokens", r.input_tokens}, {"seconds", r.seconds},
                   {"skipped", r.skipped}});
        if (!bar.drawing() && lead)
          Progress::note(fmt::format("train: step {}/{} loss {:.4f} lr {:.2e} {:.0f} tok/s", r.step,
                                     trainer.total_steps(), r.loss, r.lr, double(input_tokens) / run_seconds));
      }
      if (a.eval_every > 0 && r.step % a.eval_every == 0) validation_loss = evaluate();
      if (a.save_every > 0 && r.step % a.save_every == 0) save(last);
    }
    bar.finish();
    if (trainer.finished() && (a.eval_every == 0 || trainer.progress().step % a.eval_every != 0))
      validation_loss = evaluate();
    save(last);
    if (a.merge_lora && trainer.finished()) {
      merge_lora(*lm);
      if (lead) {
        AtomicOutput merged(out / "merged");
        fs::create_directories(merged.temp_path());
        save_causal_lm(*lm, merged.temp_path());
        for (const auto& f : tokenizer_copy) fs::copy_file(f, merged.temp_path() / f.filename());
        write_json_file(merged.temp_path() / "c2s_task.json", task);
        merged.commit();
      }
    }
    for (pid_t pid : children) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("--nproc", "a training process failed");
    }
    if (!lead) return;
    nlohmann::json summary = {
        {"output", a.output},
        {"steps", trainer.progress().step},
        {"total_steps", trainer.total_steps()},
        {"epochs_done", trainer.progress().epoch},
        {"stopped_by", stopped_by},
        {"loss", std::isfinite(last_loss) ? nlohmann::json(last_loss) : nlohmann::json(nullptr)},
        {"validation_loss", std::isfinite(validation_loss) ? nlohmann::json(validation_loss) : nlohmann::json(nullptr)},
        {"best_validation_loss", std::isfinite(best_loss) ? nlohmann::json(best_loss) : nlohmann::json(nullptr)},
        {"best_step", best_step},
        {"validation_accuracy",
         std::isfinite(validation_accuracy) ? nlohmann::json(validation_accuracy) : nlohmann::json(nullptr)},
        {"train_examples", train.size()},
        {"thinned_copies", a.thinned_copies},
        {"validation_examples", validation.size()},
        {"truncated_examples", train.truncated()},
        {"trained_parameters", trained},
        {"processes", world},
        {"threads", at::get_num_threads()},
        {"blas_kernels", blas_kernels()},
        {"input_tokens_per_s", run_seconds > 0 ? double(input_tokens) / run_seconds : 0.0},
        {"train_seconds", run_seconds},
        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
        {"skipped_steps", trainer.progress().skipped_steps},
        {"peak_rss_bytes", peak_resident_bytes()},
        {"memory_estimate_bytes", need},
        {"activation_checkpointing", a.checkpointing},
    };
    emit_summary(g, summary);
  });
}

}  // namespace c2s
