// Train from the files a Python pipeline leaves behind: NLI triplets in a Parquet file
// (`Dataset.to_parquet`; MultipleNegativesRankingLoss) and STSb pairs in a
// `Dataset.save_to_disk` folder (CoSENT), either or both, one after the other; STSb dev is
// evaluated before and after each. --write-files DIR first writes both from the bundled data
// with sbert's own writers (sbert::write_parquet, sbert::save_to_disk), as Python would.
//
//   train_from_files --write-files DIR [--max-rows N]
//   train_from_files [--parquet FILE] [--from-disk DIR] [--model DIR] [--epochs N] [--batch-size B] [--output DIR]
#include <sbert/data/arrow_writer.hpp>
#include <sbert/data/parquet_writer.hpp>

#include <filesystem>
#include <vector>

#include "common.hpp"

namespace {
constexpr const char* usage =
    "train_from_files --write-files DIR [--max-rows N]\n"
    "train_from_files [--parquet FILE] [--from-disk DIR] [--model DIR] [--epochs N] [--batch-size B] [--output DIR] [--shared DIR]";

template <class S, class Loss>
void train_on(std::shared_ptr<sbert::models::sentence_transformer> model, const example::cli& c, sbert::dataset<S> data,
              Loss loss, const char* what) {
  std::printf("%s: %zu rows from %s\n", what, data.size(), data.source().c_str());
  sbert::training_args args{
      .output_dir = c.output,
      .num_train_epochs = c.epochs > 0 ? c.epochs : 1,
      .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 32,
      .learning_rate = c.model.empty() ? 1e-3 : 2e-5,
      .warmup_ratio = 0.1,
      .seed = c.seed,
      .save_strategy = sbert::interval_strategy::no,
      .logging_steps = 50,
  };
  sbert::trainer trainer{model, args, std::move(data), std::move(loss)};
  trainer.train();
  example::stsb_dev_spearman(*model, c, "after");
}
}  // namespace

int main(int argc, char** argv) try {
  // this example's own arguments; the rest are the training examples' common ones
  std::string parquet, from_disk, write_files;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    std::string* target = a == "--parquet" ? &parquet : a == "--from-disk" ? &from_disk : a == "--write-files" ? &write_files : nullptr;
    if (!target) rest.push_back(argv[i]);
    else if (i + 1 < argc) *target = argv[++i];
    else {
      std::fprintf(stderr, "missing value for %s\n%s\n", argv[i], usage);
      return 2;
    }
  }
  const auto c = example::cli::parse(static_cast<int>(rest.size()), rest.data(), usage);

  if (!write_files.empty()) {
    namespace fs = std::filesystem;
    fs::create_directories(write_files);
    const auto nli = example::load_nli(c);
    const auto parquet_path = (fs::path(write_files) / "nli_triplets.parquet").string();
    sbert::write_parquet(nli, parquet_path);  // Snappy, as pyarrow writes by default
    const auto stsb = example::load_stsb(c, "train");
    const auto folder = (fs::path(write_files) / "stsb_train").string();
    sbert::save_to_disk(stsb, folder, {}, "train");
    std::printf("wrote %zu NLI triplets to %s and %zu STSb pairs to %s\n", nli.size(), parquet_path.c_str(), stsb.size(), folder.c_str());
    return 0;
  }
  if (parquet.empty() && from_disk.empty()) {
    std::fprintf(stderr, "give --parquet FILE, --from-disk DIR or both\n%s\n", usage);
    return 2;
  }

  sbert::models::set_threads_from_hardware();
  auto model = example::make_model(c);
  example::stsb_dev_spearman(*model, c, "before");
  if (!parquet.empty())
    train_on(model, c, sbert::read_parquet<example::nli_triplets>(parquet), sbert::multiple_negatives_ranking_loss{}, "Parquet NLI triplets");
  if (!from_disk.empty())
    train_on(model, c, sbert::load_from_disk<example::sts_pairs>(from_disk), sbert::cosent_loss{}, "save_to_disk STSb pairs");
  model->save(c.output);
  std::printf("saved to %s\n", c.output.c_str());
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
