// Multilingual knowledge distillation, after sentence-transformers' make_multilingual.py
// (Reimers & Gurevych, 2020): a student learns to map an English sentence *and* its translation
// onto the teacher's embedding of the English sentence (MSELoss over both columns), so that
// translations land next to each other in the student's space.
//
// Offline there is neither a pretrained teacher nor a parallel corpus, so by default:
// * teacher: a BERT (hidden 128, 2 layers) trained here on NLI triplets with MNRL, or --teacher DIR;
// * student: starts as a copy of the teacher (Python starts from multilingual XLM-R; here the
//   copy already knows the English side and must learn the German one), or --model DIR;
// * data: examples/data/parallel_en_de.tsv, a toy set of 158 hand-written English-German pairs
//   (--parallel FILE for a real "english<TAB>german" file); --dev-pairs of them held out.
// Evaluation before/after: TranslationEvaluator and MSEEvaluator (teacher on English vs student
// on German) on the held-out pairs, STSb dev Spearman (English) of the student.
//
//   train_multilingual [--teacher DIR] [--teacher-epochs N] [--parallel FILE] [--dev-pairs N]
//                      [--model DIR] [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]
#include "common.hpp"

namespace {
struct english : sbert::text_column<"english"> {};
struct german : sbert::text_column<"german"> {};
using parallel_pairs = sbert::schema<english, german>;
using distill_rows = sbert::schema<english, german, sbert::columns::teacher_embedding>;
}  // namespace

int main(int argc, char** argv) try {
  const std::string usage =
      "train_multilingual [--teacher DIR] [--teacher-epochs N] [--parallel FILE] [--dev-pairs N] [--model DIR] [--epochs N] "
      "[--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]";
  const std::string teacher_dir = example::take_option(argc, argv, "--teacher");
  const double teacher_epochs = std::stod(example::take_option(argc, argv, "--teacher-epochs", "1"));
  const std::string parallel = example::take_option(argc, argv, "--parallel", SBERT_EXAMPLES_DATA "/parallel_en_de.tsv");
  const auto dev_pairs = std::stoull(example::take_option(argc, argv, "--dev-pairs", "40"));
  const auto c = example::cli::parse(argc, argv, usage);
  sbert::models::set_threads_from_hardware();

  const std::string teacher_path = teacher_dir.empty() ? c.output + "/teacher" : teacher_dir;
  auto teacher = teacher_dir.empty() ? example::train_teacher(c, 128, 2, teacher_epochs, teacher_path)
                                     : sbert::models::sentence_transformer::load(teacher_dir);
  auto student = c.model.empty() ? sbert::models::sentence_transformer::load(teacher_path) : example::make_model(c);
  if (student->embedding_dimension() != teacher->embedding_dimension())
    throw sbert::error("the student's embeddings (" + std::to_string(student->embedding_dimension()) + ") and the teacher's (" +
                       std::to_string(teacher->embedding_dimension()) +
                       ") differ in size; reduce the teacher first (train_distillation appends a PCA Dense layer)");

  const auto pairs = sbert::read_tsv<parallel_pairs>(parallel);
  if (pairs.size() <= dev_pairs)
    throw sbert::error(parallel + ": " + std::to_string(pairs.size()) + " pairs, but --dev-pairs holds out " + std::to_string(dev_pairs));
  auto [train_pairs, dev] = pairs.train_test_split(static_cast<double>(dev_pairs), c.seed);
  std::printf("parallel pairs: %zu train, %zu dev (%s)\n", train_pairs.size(), dev.size(), parallel.c_str());

  // Each row: (English, German, teacher(English)); MSELoss regresses both columns onto it.
  const auto& en = train_pairs.column<english>();
  const auto t = teacher->encode(en, {.batch_size = 64}).contiguous();
  std::vector<std::vector<float>> labels(en.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const float* row = t[static_cast<std::int64_t>(i)].data_ptr<float>();
    labels[i].assign(row, row + t.size(1));
  }
  auto train = sbert::dataset<distill_rows>::from_columns(en, train_pairs.column<german>(), std::move(labels));

  sbert::translation_evaluator translation(dev, {.batch_size = 64, .name = "en-de", .write_csv = false});
  sbert::mse_evaluator mse(dev, *teacher, {.batch_size = 64, .name = "en-de", .write_csv = false});
  auto report = [&](const char* when) {
    const auto tr = translation(*student);
    const double m = -mse(*student).at("en-de_negative_mse");
    std::printf("en-de dev %-6s  translation src2trg %.3f  trg2src %.3f  MSE x100 %.4f\n", when, tr.at("en-de_src2trg_accuracy"),
                tr.at("en-de_trg2src_accuracy"), m);
    example::stsb_dev_spearman(*student, c, when);
  };
  report("before");

  sbert::training_args args{.output_dir = c.output,
                            .num_train_epochs = c.epochs > 0 ? c.epochs : 20,
                            .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 16,
                            .learning_rate = 2e-4,
                            .warmup_ratio = 0.1,
                            .seed = c.seed,
                            .save_strategy = sbert::interval_strategy::no,
                            .logging_steps = 50};
  sbert::trainer trainer{student, args, std::move(train), sbert::mse_loss{}};
  trainer.train();

  report("after");
  const auto student_dir = c.output + "/student";
  trainer.save_model(student_dir);
  std::printf("saved to %s\n", student_dir.c_str());
  std::vector<std::string> probe = dev.column<english>();
  probe.resize(std::min<std::size_t>(probe.size(), 4));
  for (std::size_t i = 0; i < std::min<std::size_t>(dev.size(), 4); ++i) probe.push_back(dev.column<german>()[i]);
  return example::check_reload(*student, student_dir, probe) ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
