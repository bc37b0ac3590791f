// The CodeCarbon-style emissions tracker on a fake sysfs/procfs: RAPL counters (wrap-around
// included, sub-domains not counted twice), the TDP x utilisation fallback, RAM at 3 W per
// 8 GB, the carbon intensity, emissions.csv read back, the card's sections, report_to.
#include "catch.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sbert/training/arguments.hpp>
#include <sbert/training/emissions.hpp>
#include <sbert/training/model_card.hpp>

namespace fs = std::filesystem;
namespace {
void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}
fs::path fresh(const std::string& name) {
  const auto p = fs::temp_directory_path() / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}
// A /proc with 16 GiB of RAM (12 GiB available) and a named CPU.
fs::path fake_proc(const fs::path& root) {
  put(root / "proc" / "meminfo", "MemTotal:       16777216 kB\nMemFree:         1000 kB\nMemAvailable:   12582912 kB\n");
  put(root / "proc" / "cpuinfo", "processor\t: 0\nmodel name\t: Test CPU 9000 @ 1.00GHz\n");
  put(root / "proc" / "stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\n");
  return root / "proc";
}
void rapl_domain(const fs::path& root, const std::string& name, std::uint64_t energy, std::uint64_t range) {
  put(root / name / "energy_uj", std::to_string(energy) + "\n");
  put(root / name / "max_energy_range_uj", std::to_string(range) + "\n");
  put(root / name / "name", name.size() > 12 ? "core\n" : "package-0\n");
}
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}
}  // namespace

TEST_CASE("emissions: RAPL package counters, wrap-around, sub-domains left out; RAM at 3 W per 8 GB") {
  const auto root = fresh("sbert_emissions_rapl");
  const auto powercap = root / "powercap";
  rapl_domain(powercap, "intel-rapl:0", 1000, 10000);
  rapl_domain(powercap, "intel-rapl:0:0", 123, 10000);  // a part of package 0: not counted again
  rapl_domain(powercap, "intel-rapl:1", 500, 1000000);
  sbert::emissions_options o{.carbon_intensity = 100.0, .sample_interval_s = 1e9, .use_nvml = false,
                             .powercap_root = powercap.string(), .proc_root = fake_proc(root).string()};
  sbert::emissions_tracker t(o);
  REQUIRE(t.uses_rapl());
  t.start();
  rapl_domain(powercap, "intel-rapl:0", 9000, 10000);     // +8000
  rapl_domain(powercap, "intel-rapl:1", 1500, 1000000);   // +1000
  rapl_domain(powercap, "intel-rapl:0:0", 9999, 10000);
  t.sample();  // not due yet (interval 1e9 s): reads nothing
  t.sample(true);
  rapl_domain(powercap, "intel-rapl:0", 2000, 10000);     // wrapped: 10000 - 9000 + 2000 = +3000
  rapl_domain(powercap, "intel-rapl:1", 2500, 1000000);   // +1000
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto d = t.stop();
  CHECK(d.cpu_method == "rapl");
  CHECK(d.cpu_energy == Approx(13000e-6 / 3.6e6).epsilon(1e-12));
  CHECK(d.ram_total_size == Approx(16.0));
  CHECK(d.ram_power == Approx(6.0));  // 16 GiB x 3/8 W
  REQUIRE(d.duration > 0);
  CHECK(d.ram_energy == Approx(6.0 * d.duration / 3.6e6).epsilon(1e-9));
  CHECK(d.energy_consumed == Approx(d.cpu_energy + d.ram_energy).epsilon(1e-12));
  CHECK(d.emissions == Approx(d.energy_consumed * 100.0 / 1000.0).epsilon(1e-12));
  CHECK(d.emissions_rate == Approx(d.emissions / d.duration).epsilon(1e-12));
  CHECK(d.cpu_power == Approx(13000e-6 / d.duration).epsilon(1e-9));
  CHECK(d.ram_used_gb == Approx(4.0));
  CHECK(d.ram_utilization_percent == Approx(25.0));
  CHECK(d.cpu_model == "Test CPU 9000 @ 1.00GHz");
  CHECK(d.gpu_count == 0);
  CHECK(d.gpu_model.empty());
  CHECK(d.country_name.empty());  // a number given, no country
  CHECK(d.run_id.size() == 36);
  CHECK(d.tracking_mode == "machine");
}

TEST_CASE("emissions: without readable RAPL, the CPU's TDP times its utilisation (85 W unless told)") {
  const auto root = fresh("sbert_emissions_tdp");
  const auto powercap = root / "powercap";
  fs::create_directories(powercap / "intel-rapl:0");  // present, counters unreadable (root-only): no RAPL
  const auto proc = fake_proc(root);
  for (double tdp : {0.0, 120.0}) {
    put(proc / "stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
    sbert::emissions_options o{.cpu_tdp_w = tdp, .use_nvml = false, .powercap_root = powercap.string(), .proc_root = proc.string()};
    REQUIRE(sbert::emissions_tracker::readable(o));
    sbert::emissions_tracker t(o);
    CHECK(!t.uses_rapl());
    t.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    put(proc / "stat", "cpu  300 0 300 1200 0 0 0 0 0 0\n");  // +400 busy of +800: 50 %
    const auto d = t.stop();
    CHECK(d.cpu_method == "tdp");
    CHECK(d.cpu_utilization_percent == Approx(50.0));
    CHECK(d.cpu_power == Approx((tdp > 0 ? tdp : 85.0) * 0.5).epsilon(1e-9));  // 42.5 W: CodeCarbon's familiar figure
    CHECK(d.cpu_energy == Approx(d.cpu_power * d.duration / 3.6e6).epsilon(1e-9));
    CHECK(d.emissions == Approx(d.energy_consumed * sbert::world_carbon_intensity / 1000.0).epsilon(1e-12));
  }
  sbert::emissions_options none{.use_nvml = false, .powercap_root = (root / "nothing").string(), .proc_root = (root / "nothing").string()};
  CHECK(!sbert::emissions_tracker::readable(none));
  // NVML missing: no GPU, no error
  sbert::emissions_options no_gpu{.proc_root = proc.string(), .nvml_library = "libsbert-no-such-nvml.so"};
  CHECK(!sbert::emissions_tracker(no_gpu).uses_nvml());
}

TEST_CASE("emissions: carbon intensity from the country table or a number") {
  const auto root = fresh("sbert_emissions_country");
  const auto proc = fake_proc(root);
  sbert::emissions_options fr{.country_iso_code = "FRA", .use_nvml = false, .proc_root = proc.string()};
  sbert::emissions_tracker t(fr);
  REQUIRE(sbert::emissions_tracker::find_country("FRA"));
  CHECK(t.carbon_intensity() == sbert::emissions_tracker::find_country("FRA")->g_per_kwh);
  CHECK(t.carbon_intensity() < sbert::emissions_tracker::find_country("POL")->g_per_kwh);  // nuclear vs coal
  t.start();
  const auto d = t.stop();
  CHECK(d.country_name == "France");
  CHECK(d.country_iso_code == "FRA");
  sbert::emissions_options both{.country_iso_code = "FRA", .carbon_intensity = 12.5, .use_nvml = false, .proc_root = proc.string()};
  CHECK(sbert::emissions_tracker(both).carbon_intensity() == 12.5);
  sbert::emissions_options bad{.country_iso_code = "XXX", .use_nvml = false};
  CHECK_THROWS_WITH(sbert::emissions_tracker(bad), Catch::Contains("XXX"));
}

TEST_CASE("emissions.csv: CodeCarbon's header, one row per run, read back") {
  const auto root = fresh("sbert_emissions_csv");
  sbert::emissions_options o{.project_name = "my,project", .carbon_intensity = 200.0, .use_nvml = false,
                             .powercap_root = (root / "none").string(), .proc_root = fake_proc(root).string()};
  sbert::emissions_tracker t(o);
  t.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const auto d1 = t.stop();
  t.start();
  const auto d2 = t.stop();
  const auto file = (root / "out" / "emissions.csv").string();
  sbert::append_emissions_csv(file, d1);
  sbert::append_emissions_csv(file, d2);
  std::ifstream f(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  REQUIRE(lines.size() == 3);  // one header, two runs
  const auto header = split(lines[0]);
  REQUIRE(header.size() == std::size(sbert::emissions_csv_columns));
  for (std::string_view c : {"timestamp", "project_name", "run_id", "duration", "emissions", "emissions_rate", "cpu_power",
                             "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
                             "country_name", "country_iso_code", "cpu_count", "cpu_model", "gpu_count", "gpu_model",
                             "ram_total_size", "tracking_mode", "on_cloud", "pue"})
    CHECK(std::find(header.begin(), header.end(), c) != header.end());
  auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  // the quoted project name holds a comma: rebuild the cells past it
  CHECK(lines[1].find("\"my,project\"") != std::string::npos);
  std::string row = lines[1];
  row.replace(row.find("\"my,project\""), 12, "my-project");
  const auto cells = split(row);
  REQUIRE(cells.size() == header.size());
  CHECK(std::stod(cells[col("duration")]) == d1.duration);  // Python's repr round-trips
  CHECK(std::stod(cells[col("emissions")]) == d1.emissions);
  CHECK(std::stod(cells[col("cpu_energy")]) == d1.cpu_energy);
  CHECK(std::stod(cells[col("ram_power")]) == Approx(6.0));
  CHECK(cells[col("run_id")] == d1.run_id);
  CHECK(d1.run_id != d2.run_id);  // a new id per run
  CHECK(cells[col("cpu_model")] == "Test CPU 9000 @ 1.00GHz");
  CHECK(cells[col("on_cloud")] == "N");
  CHECK(cells[col("longitude")].empty());
  CHECK(cells[col("timestamp")].size() == 19);  // 2024-03-05T16:21:19
}

TEST_CASE("model card: Environmental Impact and Training Hardware, as Python's card shows CodeCarbon's data") {
  sbert::model_card_data card;
  CHECK(sbert::render_model_card(card).find("Environmental Impact") == std::string::npos);
  sbert::emissions_data e;
  e.energy_consumed = 1.23456;
  e.emissions = 0.5;
  e.duration = 5400;
  e.cpu_model = "Test CPU";
  e.ram_total_size = 31.777;
  e.cpu_method = "tdp";
  card.emissions = e;
  const auto md = sbert::render_model_card(card);
  INFO(md);
  CHECK(md.find("\n### Environmental Impact\n") != std::string::npos);
  CHECK(md.find("- **Energy Consumed**: 1.235 kWh\n") != std::string::npos);
  CHECK(md.find("- **Carbon Emitted**: 0.500 kg of CO2\n") != std::string::npos);
  CHECK(md.find("- **Hours Used**: 1.5 hours\n") != std::string::npos);
  CHECK(md.find("TDP times its utilisation") != std::string::npos);
  CHECK(md.find("\n### Training Hardware\n- **On Cloud**: No\n- **GPU Model**: No GPU used\n- **CPU Model**: Test CPU\n"
                "- **RAM Size**: 31.78 GB\n") != std::string::npos);
  CHECK(md.find("### Environmental Impact") < md.find("### Framework Versions"));
  CHECK(md.find("co2_eq_emissions:\n  emissions: 500.0\n  energy_consumed: 1.23456\n") != std::string::npos);
  CHECK(md.find("  hours_used: 1.5\n") != std::string::npos);
  e.gpu_model = "1 x NVIDIA H100";
  card.emissions = e;
  const auto gpu = sbert::render_model_card(card);
  CHECK(gpu.find("- **GPU Model**: 1 x NVIDIA H100\n") != std::string::npos);
  CHECK(gpu.find("  hardware_used: 1 x NVIDIA H100\n") != std::string::npos);
}

TEST_CASE("report_to: \"all\" and \"codecarbon\" track emissions, \"none\" turns everything off") {
  sbert::training_args a;
  CHECK(a.reports_to_codecarbon());  // the default, "all"
  a.report_to = {"codecarbon"};
  CHECK(a.reports_to_codecarbon());
  CHECK(!a.reports_to_tensorboard());
  CHECK_NOTHROW(a.validate(false));
  a.report_to = {"tensorboard"};
  CHECK(!a.reports_to_codecarbon());
  a.report_to = {"codecarbon", "none"};
  CHECK(!a.reports_to_codecarbon());
  a.report_to = {"none"};
  CHECK(!a.reports_to_codecarbon());
}
