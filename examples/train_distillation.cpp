// Knowledge distillation, after sentence-transformers' examples/training/distillation
// (model_distillation.py and dimensionality_reduction.py): a student learns to reproduce a
// teacher's sentence embeddings with MSELoss.
//
// 1. The teacher: the model folder given with --teacher, or (no pretrained model exists offline)
//    a larger BERT (hidden 256, 4 layers) trained here on NLI triplets with MNRL first.
// 2. Dimensionality reduction: when the student's embeddings are smaller than the teacher's, PCA
//    on the teacher's embeddings of the training sentences gives the top components, which
//    become a Dense layer (no bias, Identity activation) appended to the teacher; the reduced
//    teacher is saved as its own model folder (what dimensionality_reduction.py produces).
// 3. The student (hidden 128, 2 layers, random init; or --model DIR) is trained with MSELoss on
//    the (reduced) teacher's embeddings of NLI and STSb train sentences. MSEEvaluator (teacher
//    vs student on STSb dev sentences) and STSb dev Spearman before and after.
// Both saved folders are reloaded and must encode as the models in memory do.
//
//   train_distillation [--teacher DIR] [--teacher-epochs N] [--pca-sentences N] [--model DIR]
//                      [--epochs N] [--batch-size B] [--max-rows N] [--output DIR] [--shared DIR]
#include "common.hpp"

#include <ATen/ops/linalg_svd.h>

namespace {
// (sentence, teacher embedding) rows: MSELoss's text column and vector label.
using distill_rows = sbert::schema<sbert::columns::text, sbert::columns::teacher_embedding>;

// PCA components of x [n, d]: the top-k right singular vectors of the centred rows, [k, d]
// (sklearn's PCA.components_ up to each component's sign); also the share of variance kept.
std::pair<at::Tensor, double> pca_components(const at::Tensor& x, std::int64_t k) {
  if (x.size(0) < k)
    throw sbert::error("PCA: " + std::to_string(k) + " components need at least as many sentences, got " + std::to_string(x.size(0)));
  const auto centred = x - x.mean(0, true);
  const auto [u, s, vh] = at::linalg_svd(centred, /*full_matrices=*/false);
  const auto var = s.pow(2);
  return {vh.narrow(0, 0, k).contiguous(), (var.narrow(0, 0, k).sum() / var.sum()).item<double>()};
}
}  // namespace

int main(int argc, char** argv) try {
  const std::string usage =
      "train_distillation [--teacher DIR] [--teacher-epochs N] [--pca-sentences N] [--model DIR] [--epochs N] [--batch-size B] "
      "[--max-rows N] [--output DIR] [--shared DIR]";
  const std::string teacher_dir = example::take_option(argc, argv, "--teacher");
  const double teacher_epochs = std::stod(example::take_option(argc, argv, "--teacher-epochs", "1"));
  const auto pca_sentences = std::stoll(example::take_option(argc, argv, "--pca-sentences", "20000"));
  const auto c = example::cli::parse(argc, argv, usage);
  sbert::models::set_threads_from_hardware();

  auto teacher = teacher_dir.empty() ? example::train_teacher(c, 256, 4, teacher_epochs, c.output + "/teacher")
                                     : sbert::models::sentence_transformer::load(teacher_dir);
  auto student = example::make_model(c);
  const auto d_teacher = teacher->embedding_dimension(), d_student = student->embedding_dimension();
  if (d_student > d_teacher)
    throw sbert::error("the student's embeddings (" + std::to_string(d_student) + ") are larger than the teacher's (" +
                       std::to_string(d_teacher) + "): MSELoss needs the same size, and PCA can only reduce");

  // Training sentences: NLI anchors and hypotheses, then STSb train sentences, each once.
  std::vector<std::string> sentences;
  {
    std::unordered_set<std::string> seen;
    auto add = [&](const std::string& s) {
      if (seen.insert(s).second) sentences.push_back(s);
    };
    const auto nli = example::load_nli(c);
    for (std::size_t i = 0; i < nli.size(); ++i) {
      add(nli[i].get<sbert::columns::anchor>());
      add(nli[i].get<sbert::columns::positive>());
      add(nli[i].get<sbert::columns::negative>());
    }
    for (const auto& s : example::stsb_train_sentences(c)) add(s);
  }
  std::printf("training sentences: %zu\n", sentences.size());
  example::stsb_dev_spearman(*teacher, c, "teacher");
  auto targets = teacher->encode(sentences, {.batch_size = 64});

  if (d_student < d_teacher) {
    const auto n = std::min<std::int64_t>(pca_sentences, targets.size(0));
    const auto [components, kept] = pca_components(targets.narrow(0, 0, n), d_student);
    std::printf("PCA on %lld teacher embeddings: %lld of %lld dimensions keep %.1f%% of the variance\n", static_cast<long long>(n),
                static_cast<long long>(d_student), static_cast<long long>(d_teacher), 100.0 * kept);
    auto dense = std::make_shared<sbert::models::dense>(sbert::models::dense::options{
        .in_features = d_teacher, .out_features = d_student, .bias = false,
        .activation_function = "torch.nn.modules.activation.Identity"});
    {
      at::NoGradGuard no_grad;
      dense->linear->weight.copy_(components);
    }
    auto mods = teacher->modules_list();
    mods.push_back(dense);
    teacher = std::make_shared<sbert::models::sentence_transformer>(std::move(mods));
    teacher->to(student->device());
    targets = targets.matmul(components.t());  // what the reduced teacher encodes (no bias)
    example::stsb_dev_spearman(*teacher, c, "teacher-pca");
    const auto reduced_dir = c.output + "/teacher-pca" + std::to_string(d_student);
    teacher->save(reduced_dir);
    example::check_reload(*teacher, reduced_dir, {"A man is playing a guitar.", "Two dogs run through a field."});
  }

  std::vector<std::vector<float>> labels(sentences.size());
  const auto t = targets.contiguous();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const float* row = t[static_cast<std::int64_t>(i)].data_ptr<float>();
    labels[i].assign(row, row + t.size(1));
  }
  auto train = sbert::dataset<distill_rows>::from_columns(std::move(sentences), std::move(labels));

  // MSEEvaluator on the STSb dev sentences: the (reduced) teacher's embeddings vs the student's.
  const auto dev = example::load_stsb(c, "dev");
  std::vector<std::string> dev_sentences = dev.column<example::sentence1>();
  dev_sentences.insert(dev_sentences.end(), dev.column<example::sentence2>().begin(), dev.column<example::sentence2>().end());
  sbert::mse_evaluator mse(dev_sentences, dev_sentences, *teacher, {.batch_size = 64, .name = "sts-dev", .write_csv = false});
  auto report_mse = [&](const char* when) {
    const double v = -mse(*student).at("sts-dev_negative_mse");
    std::printf("MSE x100 (teacher vs student, STSb dev sentences) %-6s %.4f\n", when, v);
    return v;
  };
  report_mse("before");
  example::stsb_dev_spearman(*student, c, "before");

  sbert::training_args args{.output_dir = c.output,
                            .num_train_epochs = c.epochs > 0 ? c.epochs : 1,
                            .per_device_train_batch_size = c.batch_size > 0 ? c.batch_size : 64,
                            .learning_rate = c.model.empty() ? 5e-4 : 1e-4,
                            .warmup_ratio = 0.1,
                            .seed = c.seed,
                            .save_strategy = sbert::interval_strategy::no,
                            .logging_steps = 100};
  sbert::trainer trainer{student, args, std::move(train), sbert::mse_loss{}};
  trainer.train();

  report_mse("after");
  example::stsb_dev_spearman(*student, c, "after");
  const auto student_dir = c.output + "/student";
  trainer.save_model(student_dir);
  std::printf("saved to %s\n", student_dir.c_str());
  const std::vector<std::string> probe(dev_sentences.begin(), dev_sentences.begin() + std::min<std::size_t>(8, dev_sentences.size()));
  return example::check_reload(*student, student_dir, probe) ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
