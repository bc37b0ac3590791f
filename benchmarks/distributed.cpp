// SPDX-License-Identifier: Apache-2.0
// Data-parallel figures (run under a launcher; benchmarks/distributed.sh runs the set):
//   distributed_bench train [steps] [overlap 1|0] [bucket MiB]
//                                     MNRL on NLI triplets, the main job's small BERT (hidden
//                                     128, 2 layers), 16 rows per rank per step; rank 0 prints
//                                     samples/s over all ranks, with the gradient all-reduce
//                                     overlapped with the backward pass (1, the default) or after
//                                     it (0), in buckets of so many MiB (default 25)
//   distributed_bench allreduce       all_reduce_gradients on BERT-base-shaped gradients
//                                     (109.5 M floats, 418 MiB): ms per step
#include <ATen/Parallel.h>
#include <ATen/ops/randn.h>

#include <sbert/data.hpp>
#include <sbert/distributed/data_parallel.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/models/bert.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/models/tokenizers/wordpiece.hpp>
#include <sbert/models/transformer.hpp>
#include <sbert/training/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using nli_triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

int train(int steps, bool overlap, double bucket_mb) {
  at::manual_seed(42);
  sbert::models::bert_config cfg;
  cfg.hidden_size = 128;
  cfg.num_hidden_layers = 2;
  cfg.num_attention_heads = 2;
  cfg.intermediate_size = 512;
  auto encoder = std::make_shared<sbert::models::bert_model>(cfg);
  auto tok = std::make_shared<sbert::models::wordpiece_tokenizer>(
      sbert::models::load_wordpiece(std::string(SBERT_SHARED_DIR) + "/reference/tiny-bert-st"));
  auto t = std::make_shared<sbert::models::transformer>(encoder, tok, sbert::models::transformer_options{.max_seq_length = 64});
  auto model = sbert::models::sentence_transformer::from_parts(t, "mean");
  auto data = sbert::read_tsv<nli_triplets>(std::string(SBERT_SHARED_DIR) + "/data/nli/nli_dev_triplets.tsv");
  sbert::training_args args{.output_dir = "/tmp/sbert-distributed-bench",
                            .max_steps = steps,
                            .per_device_train_batch_size = 16,
                            .learning_rate = 1e-4,
                            .save_strategy = sbert::interval_strategy::no,
                            .logging_steps = 1000,
                            .report_to = {"none"},
                            .log_level = sbert::log_level::warning,
                            .disable_progress_bar = true,
                            .ddp_bucket_cap_mb = bucket_mb,
                            .ddp_overlap = overlap};
  sbert::trainer tr{model, args, std::move(data), sbert::multiple_negatives_ranking_loss{{.gather_across_devices = true}}};
  const auto r = tr.train();
  if (sbert::distributed::is_main_process())
    for (const auto& [k, v] : r.metrics)
      if (k == "train_samples_per_second") {
        const auto st = sbert::distributed::overlap_stats();
        std::printf("train: %d process(es), %d thread(s) each: %.1f samples/s (global batch %d)", sbert::distributed::world_size(),
                    at::get_num_threads(), v, 16 * sbert::distributed::world_size());
        if (sbert::distributed::world_size() > 1 && overlap)
          std::printf(", all-reduce overlapped, %g MiB buckets (%lld per step; %lld of %lld launched during the backward pass)",
                      bucket_mb, static_cast<long long>(st.buckets / std::max<std::int64_t>(1, st.overlapped_steps)),
                      static_cast<long long>(st.early_buckets), static_cast<long long>(st.buckets));
        else if (sbert::distributed::world_size() > 1)
          std::printf(", all-reduce after the backward pass, %g MiB buckets", bucket_mb);
        std::printf("\n");
      }
  return 0;
}

int allreduce() {
  auto g = sbert::distributed::init_process_group("gloo");
  if (!g) {
    std::fprintf(stderr, "allreduce: run under sbert-launch --nproc 2 (or more)\n");
    return 2;
  }
  // BERT-base's parameter shapes: embeddings, 12 layers, pooler.
  std::vector<std::vector<std::int64_t>> shapes{{30522, 768}, {512, 768}, {2, 768}, {768}, {768}};
  for (int l = 0; l < 12; ++l)
    for (auto s : std::vector<std::vector<std::int64_t>>{{768, 768}, {768}, {768, 768}, {768}, {768, 768}, {768}, {768, 768}, {768},
                                                         {768}, {768}, {3072, 768}, {3072}, {768, 3072}, {768}, {768}, {768}})
      shapes.push_back(s);
  shapes.push_back({768, 768});
  shapes.push_back({768});
  std::vector<at::Tensor> params;
  std::int64_t n = 0;
  for (const auto& s : shapes) {
    auto p = at::randn(s);
    p.mutable_grad() = at::randn(s);
    n += p.numel();
    params.push_back(p);
  }
  sbert::distributed::all_reduce_gradients(*g, params);  // warm-up: connections, buffers
  const int reps = 5;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) sbert::distributed::all_reduce_gradients(*g, params);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
  if (g->rank() == 0)
    std::printf("allreduce: %d processes, %.1f M float32 gradients (%.0f MiB), 25 MiB buckets: %.0f ms per step\n", g->size(),
                static_cast<double>(n) / 1e6, static_cast<double>(n) * 4 / (1 << 20), ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "train")
    return train(argc > 2 ? std::atoi(argv[2]) : 40, argc > 3 ? std::atoi(argv[3]) != 0 : true, argc > 4 ? std::atof(argv[4]) : 25);
  if (mode == "allreduce") return allreduce();
  std::fprintf(stderr, "usage: distributed_bench train [steps] [overlap 1|0] [bucket MiB] | allreduce   (under sbert-launch --nproc N --)\n");
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
