// SPDX-License-Identifier: Apache-2.0
// A CodeCarbon-style energy and emissions tracker. CPU energy from RAPL's powercap counters
// (/sys/class/powercap/intel-rapl*, which AMD's Zen CPUs expose too) where they are readable,
// else the CPU's TDP times its utilisation (/proc/stat); RAM at CodeCarbon's 3 W per 8 GB; GPUs
// through NVML, loaded at run time when present. Emissions = energy x the carbon intensity of
// the country given (a small built-in table) or of a number given. Writes emissions.csv with
// CodeCarbon's columns and units (duration s, energy kWh, power W, emissions kg CO2eq), so its
// dashboards and scripts read it. Torch-free; the trainer runs one when report_to asks
// (arguments.hpp), and the model card shows its totals.
#pragma once
#include <dlfcn.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>

namespace sbert {

/// Where the tracker reads from and how it turns energy into emissions.
struct emissions_options {
  std::string project_name = "codecarbon";  ///< CodeCarbon's default project name
  /// ISO 3166-1 alpha-3 code of the country the electricity comes from (carbon_intensity_table);
  /// empty: the world average.
  std::string country_iso_code{};
  std::optional<double> carbon_intensity{};  ///< gCO2eq/kWh; wins over country_iso_code
  double cpu_tdp_w = 0;  ///< for the TDP fallback; 0: 85 W, CodeCarbon's default for a CPU it does not know
  double pue = 1.0;      ///< power usage effectiveness, multiplies the energy
  double sample_interval_s = 15;  ///< CodeCarbon's measure_power_secs
  bool use_rapl = true;
  bool use_nvml = true;
  std::string powercap_root = "/sys/class/powercap";
  std::string proc_root = "/proc";
  std::string nvml_library = "libnvidia-ml.so.1";
};

/// A country's carbon intensity of electricity generation, gCO2eq/kWh.
struct carbon_intensity_entry {
  std::string_view iso_code, name;
  double g_per_kwh;
};
/// The carbon intensity of electricity CodeCarbon itself uses for these countries: the
/// `carbon_intensity` field of codecarbon/data/private_infra/global_energy_mix.json (Our World
/// in Data's energy data, year 2021), copied for 20 countries as figures, not code. Pass
/// carbon_intensity for a country not listed or a figure of your own.
inline constexpr carbon_intensity_entry carbon_intensity_table[] = {
    {"AUS", "Australia", 531.247},  {"BRA", "Brazil", 158.592},       {"CAN", "Canada", 128.461},
    {"CHE", "Switzerland", 47.101}, {"CHN", "China", 544.355},        {"DEU", "Germany", 365.477},
    {"ESP", "Spain", 193.863},      {"FIN", "Finland", 145.541},      {"FRA", "France", 67.39},
    {"GBR", "United Kingdom", 268.329}, {"IND", "India", 637.182},    {"IRL", "Ireland", 363.608},
    {"ITA", "Italy", 340.794},      {"JPN", "Japan", 478.545},        {"KOR", "South Korea", 458.081},
    {"NLD", "Netherlands", 388.702}, {"NOR", "Norway", 27.55},        {"POL", "Poland", 660.122},
    {"SWE", "Sweden", 45.817},      {"USA", "United States", 379.26},
};
/// The world average CodeCarbon falls back to when it cannot locate the machine (gCO2eq/kWh).
inline constexpr double world_carbon_intensity = 475;

/// One row of emissions.csv: CodeCarbon's EmissionsData, in its column order and units.
struct emissions_data {
  std::string timestamp, project_name, run_id, experiment_id;
  double duration = 0;        ///< s
  double emissions = 0;       ///< kg CO2eq
  double emissions_rate = 0;  ///< kg/s
  double cpu_power = 0, gpu_power = 0, ram_power = 0;     ///< W (mean over the run)
  double cpu_energy = 0, gpu_energy = 0, ram_energy = 0;  ///< kWh
  double energy_consumed = 0;                             ///< kWh, all three times the PUE
  double water_consumed = 0;                              ///< L (not estimated)
  std::string country_name, country_iso_code, region, cloud_provider, cloud_region, os, python_version, codecarbon_version;
  double cpu_count = 0;
  std::string cpu_model;
  double gpu_count = 0;
  std::string gpu_model;
  std::optional<double> longitude, latitude;  ///< not located: empty cells
  double ram_total_size = 0;  ///< GB (GiB, as CodeCarbon counts them)
  std::string tracking_mode = "machine";
  double cpu_utilization_percent = 0, gpu_utilization_percent = 0, ram_utilization_percent = 0, ram_used_gb = 0;
  std::string on_cloud = "N";
  double pue = 1, wue = 0;

  /// How the CPU energy was found: "rapl" or "tdp" (not a CSV column).
  std::string cpu_method;
};

namespace detail {

inline std::optional<std::string> read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return std::nullopt;
  return ss.str();
}
inline std::optional<std::uint64_t> read_u64(const std::filesystem::path& p) {
  auto t = read_text(p);
  if (!t) return std::nullopt;
  try {
    return static_cast<std::uint64_t>(std::stoull(*t));
  } catch (...) {
    return std::nullopt;
  }
}

/// The RAPL package domains (intel-rapl:N; their sub-domains are parts of them) whose counters
/// are readable: energy in joules since the last read, wrap-arounds of the counter included.
class rapl_reader {
 public:
  explicit rapl_reader(const std::string& root) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
      const auto name = e.path().filename().string();
      if (!name.starts_with("intel-rapl:") || std::count(name.begin(), name.end(), ':') != 1) continue;
      auto now = read_u64(e.path() / "energy_uj");
      auto range = read_u64(e.path() / "max_energy_range_uj");
      if (!now || !range) continue;  // unreadable (root-only since Linux 5.10): no RAPL
      domains_.push_back({e.path() / "energy_uj", *range, *now});
    }
    std::sort(domains_.begin(), domains_.end(), [](const domain& a, const domain& b) { return a.file < b.file; });
  }
  [[nodiscard]] bool available() const { return !domains_.empty(); }
  [[nodiscard]] std::size_t domains() const { return domains_.size(); }

  /// Joules since the last call (or construction), over all packages.
  double joules() {
    double uj = 0;
    for (auto& d : domains_) {
      const auto now = read_u64(d.file);
      if (!now) continue;
      // the counter wraps at max_energy_range_uj back to 0
      uj += static_cast<double>(*now >= d.last ? *now - d.last : d.range - d.last + *now);
      d.last = *now;
    }
    return uj * 1e-6;
  }

 private:
  struct domain {
    std::filesystem::path file;
    std::uint64_t range, last;
  };
  std::vector<domain> domains_;
};

/// Busy and total jiffies of all CPUs from /proc/stat's first line.
struct cpu_times {
  std::uint64_t busy = 0, total = 0;
};
inline std::optional<cpu_times> read_cpu_times(const std::string& proc_root) {
  auto t = read_text(std::filesystem::path(proc_root) / "stat");
  if (!t || !t->starts_with("cpu ")) return std::nullopt;
  std::istringstream in(t->substr(4));
  std::uint64_t v[10] = {};
  for (auto& x : v)
    if (!(in >> x)) break;
  // user nice system idle iowait irq softirq steal (guest time is inside user)
  const std::uint64_t idle = v[3] + v[4];
  const std::uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return cpu_times{busy, busy + idle};
}

/// A field of /proc/meminfo in GiB.
inline std::optional<double> meminfo_gib(const std::string& proc_root, std::string_view key) {
  auto t = read_text(std::filesystem::path(proc_root) / "meminfo");
  if (!t) return std::nullopt;
  std::istringstream in(*t);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':')
      return std::stod(line.substr(key.size() + 1)) / (1024.0 * 1024.0);  // kB
  return std::nullopt;
}

inline std::string cpu_model_name(const std::string& proc_root) {
  auto t = read_text(std::filesystem::path(proc_root) / "cpuinfo");
  if (!t) return {};
  std::istringstream in(*t);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("model name")) {
      auto c = line.find(':');
      if (c == std::string::npos) continue;
      auto s = line.substr(c + 1);
      s.erase(0, s.find_first_not_of(" \t"));
      return s;
    }
  return {};
}

/// NVIDIA GPUs through NVML, opened with dlopen so that nothing links against the driver; no
/// library, no GPU, or an error: not available.
class nvml_reader {
 public:
  explicit nvml_reader(const std::string& library) {
    lib_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib_) return;
    auto sym = [&](const char* n) { return dlsym(lib_, n); };
    init_ = reinterpret_cast<int (*)()>(sym("nvmlInit_v2"));
    shutdown_ = reinterpret_cast<int (*)()>(sym("nvmlShutdown"));
    auto count = reinterpret_cast<int (*)(unsigned*)>(sym("nvmlDeviceGetCount_v2"));
    auto handle = reinterpret_cast<int (*)(unsigned, void**)>(sym("nvmlDeviceGetHandleByIndex_v2"));
    auto name = reinterpret_cast<int (*)(void*, char*, unsigned)>(sym("nvmlDeviceGetName"));
    energy_ = reinterpret_cast<int (*)(void*, unsigned long long*)>(sym("nvmlDeviceGetTotalEnergyConsumption"));
    power_ = reinterpret_cast<int (*)(void*, unsigned*)>(sym("nvmlDeviceGetPowerUsage"));
    unsigned n = 0;
    if (!init_ || !shutdown_ || !count || !handle || (!energy_ && !power_) || init_() != 0) {
      close();
      return;
    }
    initialised_ = true;
    if (count(&n) != 0) {
      close();
      return;
    }
    for (unsigned i = 0; i < n; ++i) {
      device d;
      if (handle(i, &d.handle) != 0) continue;
      char buf[96] = {};
      if (name && name(d.handle, buf, sizeof buf) == 0) d.name = buf;
      d.last_mj = energy_mj(d);
      devices_.push_back(d);
    }
    if (devices_.empty()) close();
  }
  ~nvml_reader() { close(); }
  nvml_reader(const nvml_reader&) = delete;
  nvml_reader& operator=(const nvml_reader&) = delete;

  [[nodiscard]] bool available() const { return !devices_.empty(); }
  [[nodiscard]] std::size_t count() const { return devices_.size(); }
  /// CodeCarbon's gpu_model: "2 x NVIDIA H100 80GB HBM3" when all are alike, else the names joined.
  [[nodiscard]] std::string model() const {
    if (devices_.empty()) return {};
    const bool same = std::all_of(devices_.begin(), devices_.end(), [&](const device& d) { return d.name == devices_[0].name; });
    if (same) return std::to_string(devices_.size()) + " x " + devices_[0].name;
    std::string s;
    for (const auto& d : devices_) s += (s.empty() ? "" : ", ") + d.name;
    return s;
  }
  /// Joules since the last call: the energy counter (Volta and later), else power x seconds.
  double joules(double seconds) {
    double j = 0;
    for (auto& d : devices_) {
      if (d.last_mj) {
        const auto now = energy_mj(d);
        if (now && *now >= *d.last_mj) j += static_cast<double>(*now - *d.last_mj) * 1e-3;
        d.last_mj = now;
      } else if (power_) {
        unsigned mw = 0;
        if (power_(d.handle, &mw) == 0) j += mw * 1e-3 * seconds;
      }
    }
    return j;
  }

 private:
  struct device {
    void* handle = nullptr;
    std::string name;
    std::optional<unsigned long long> last_mj;
  };
  std::optional<unsigned long long> energy_mj(const device& d) const {
    unsigned long long mj = 0;
    if (energy_ && energy_(d.handle, &mj) == 0) return mj;
    return std::nullopt;
  }
  void close() {
    devices_.clear();
    if (initialised_ && shutdown_) shutdown_();
    initialised_ = false;
    if (lib_) dlclose(lib_);
    lib_ = nullptr;
  }
  void* lib_ = nullptr;
  bool initialised_ = false;
  int (*init_)() = nullptr;
  int (*shutdown_)() = nullptr;
  int (*energy_)(void*, unsigned long long*) = nullptr;
  int (*power_)(void*, unsigned*) = nullptr;
  std::vector<device> devices_;
};

inline std::string random_uuid4() {
  std::random_device rd;
  std::mt19937_64 g((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  const std::uint64_t a = g(), b = g();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | (b >> 48 & 0x3fff)), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

inline std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

}  // namespace detail

/// CodeCarbon's emissions.csv columns, in order.
inline constexpr std::string_view emissions_csv_columns[] = {
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate", "cpu_power",
    "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "water_consumed",
    "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os", "python_version",
    "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude",
    "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue"};

/// The header line of emissions.csv (no newline).
[[nodiscard]] inline std::string emissions_csv_header() {
  std::string s;
  for (auto c : emissions_csv_columns) s += (s.empty() ? "" : ",") + std::string(c);
  return s;
}
/// One row (no newline); numbers as Python prints them.
[[nodiscard]] inline std::string emissions_csv_row(const emissions_data& d) {
  auto n = [](double x) { return json::python_float(x); };
  auto on = [&](const std::optional<double>& x) { return x ? n(*x) : std::string(); };
  const std::string cells[] = {d.timestamp, d.project_name, d.run_id, d.experiment_id, n(d.duration), n(d.emissions),
                               n(d.emissions_rate), n(d.cpu_power), n(d.gpu_power), n(d.ram_power), n(d.cpu_energy),
                               n(d.gpu_energy), n(d.ram_energy), n(d.energy_consumed), n(d.water_consumed), d.country_name,
                               d.country_iso_code, d.region, d.cloud_provider, d.cloud_region, d.os, d.python_version,
                               d.codecarbon_version, std::to_string(static_cast<long long>(d.cpu_count)), d.cpu_model,
                               d.gpu_count > 0 ? std::to_string(static_cast<long long>(d.gpu_count)) : std::string(),
                               d.gpu_model, on(d.longitude), on(d.latitude), n(d.ram_total_size), d.tracking_mode,
                               n(d.cpu_utilization_percent), n(d.gpu_utilization_percent), n(d.ram_utilization_percent),
                               n(d.ram_used_gb), d.on_cloud, n(d.pue), n(d.wue)};
  static_assert(std::size(cells) == std::size(emissions_csv_columns));
  std::string s;
  for (const auto& c : cells) s += (&c == cells ? "" : ",") + detail::csv_cell(c);
  return s;
}
/// Appends the row to `file`, writing the header first when the file is new or empty (as
/// CodeCarbon's on_csv_write="append").
inline void append_emissions_csv(const std::string& file, const emissions_data& d) {
  namespace fs = std::filesystem;
  const bool fresh = !fs::exists(file) || fs::file_size(file) == 0;
  if (auto parent = fs::path(file).parent_path(); !parent.empty()) fs::create_directories(parent);
  std::ofstream f(file, std::ios::app);
  if (!f) throw error("emissions: cannot write " + file);
  if (fresh) f << emissions_csv_header() << '\n';
  f << emissions_csv_row(d) << '\n';
}

/// The tracker: start(), sample() as often as convenient (it reads the counters at most every
/// sample_interval_s), stop() for the totals.
class emissions_tracker {
 public:
  explicit emissions_tracker(emissions_options o = {}) : o_(std::move(o)) {
    if (o_.use_rapl) rapl_.emplace(o_.powercap_root);
    if (rapl_ && !rapl_->available()) rapl_.reset();
    if (o_.use_nvml) nvml_ = std::make_unique<detail::nvml_reader>(o_.nvml_library);
    if (nvml_ && !nvml_->available()) nvml_.reset();
    intensity_ = o_.carbon_intensity.value_or(world_carbon_intensity);
    if (!o_.carbon_intensity && !o_.country_iso_code.empty()) {
      const auto* e = find_country(o_.country_iso_code);
      if (!e)
        throw error("emissions_options::country_iso_code: '" + o_.country_iso_code +
                    "' is not in sbert's carbon-intensity table; give carbon_intensity (gCO2eq/kWh) instead");
      intensity_ = e->g_per_kwh;
    }
    if (o_.carbon_intensity && !(*o_.carbon_intensity >= 0))
      throw error("emissions_options::carbon_intensity must be >= 0 (gCO2eq/kWh)");
  }

  /// Whether the tracker can measure anything here: RAPL, or /proc/stat for the TDP fallback.
  [[nodiscard]] static bool readable(const emissions_options& o) {
    if (o.use_rapl && detail::rapl_reader(o.powercap_root).available()) return true;
    return detail::read_cpu_times(o.proc_root).has_value();
  }
  [[nodiscard]] static const carbon_intensity_entry* find_country(std::string_view iso) {
    for (const auto& e : carbon_intensity_table)
      if (e.iso_code == iso) return &e;
    return nullptr;
  }
  [[nodiscard]] bool uses_rapl() const { return rapl_.has_value(); }
  [[nodiscard]] bool uses_nvml() const { return nvml_ != nullptr; }
  [[nodiscard]] double carbon_intensity() const { return intensity_; }
  [[nodiscard]] const emissions_options& options() const { return o_; }

  void start() {
    run_id_ = detail::random_uuid4();
    t0_ = last_ = std::chrono::steady_clock::now();
    cpu_j_ = gpu_j_ = ram_j_ = 0;
    if (rapl_) rapl_->joules();
    if (nvml_) nvml_->joules(0);
    times0_ = times_ = detail::read_cpu_times(o_.proc_root);
    ram_gib_ = detail::meminfo_gib(o_.proc_root, "MemTotal").value_or(0);
    started_ = true;
  }
  /// Reads the counters when sample_interval_s has passed since the last read (or `force`).
  void sample(bool force = false) {
    if (!started_) return;
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - last_).count();
    if (!force && dt < o_.sample_interval_s) return;
    last_ = now;
    if (rapl_) {
      cpu_j_ += rapl_->joules();
    } else if (auto t = detail::read_cpu_times(o_.proc_root); t && times_) {
      const double busy = static_cast<double>(t->busy - times_->busy), total = static_cast<double>(t->total - times_->total);
      if (total > 0) cpu_j_ += tdp() * std::clamp(busy / total, 0.0, 1.0) * dt;
      times_ = t;
    }
    if (nvml_) gpu_j_ += nvml_->joules(dt);
    ram_j_ += ram_power() * dt;
  }
  /// The totals so far (after a forced sample).
  emissions_data data() {
    sample(true);
    emissions_data d;
    constexpr double j_per_kwh = 3.6e6;
    const double dur = std::chrono::duration<double>(last_ - t0_).count();
    d.timestamp = timestamp();
    d.project_name = o_.project_name;
    d.run_id = run_id_;
    d.duration = dur;
    d.cpu_energy = cpu_j_ / j_per_kwh;
    d.gpu_energy = gpu_j_ / j_per_kwh;
    d.ram_energy = ram_j_ / j_per_kwh;
    d.energy_consumed = (d.cpu_energy + d.gpu_energy + d.ram_energy) * o_.pue;
    d.emissions = d.energy_consumed * intensity_ / 1000.0;
    d.emissions_rate = dur > 0 ? d.emissions / dur : 0;
    d.cpu_power = dur > 0 ? cpu_j_ / dur : 0;
    d.gpu_power = dur > 0 ? gpu_j_ / dur : 0;
    d.ram_power = ram_power();
    if (const auto* e = o_.carbon_intensity ? nullptr : find_country(o_.country_iso_code)) {
      d.country_name = std::string(e->name);
      d.country_iso_code = std::string(e->iso_code);
    }
    d.os = os_name();
    d.cpu_count = static_cast<double>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    d.cpu_model = detail::cpu_model_name(o_.proc_root);
    if (nvml_) {
      d.gpu_count = static_cast<double>(nvml_->count());
      d.gpu_model = nvml_->model();
    }
    d.ram_total_size = ram_gib_;
    if (times0_ && times_ && times_->total > times0_->total)
      d.cpu_utilization_percent = 100.0 * static_cast<double>(times_->busy - times0_->busy) /
                                  static_cast<double>(times_->total - times0_->total);
    if (auto avail = detail::meminfo_gib(o_.proc_root, "MemAvailable"); avail && ram_gib_ > 0) {
      d.ram_used_gb = ram_gib_ - *avail;
      d.ram_utilization_percent = 100.0 * d.ram_used_gb / ram_gib_;
    }
    d.pue = o_.pue;
    d.cpu_method = rapl_ ? "rapl" : "tdp";
    return d;
  }
  emissions_data stop() {
    auto d = data();
    started_ = false;
    return d;
  }
  [[nodiscard]] bool running() const { return started_; }

 private:
  [[nodiscard]] double tdp() const { return o_.cpu_tdp_w > 0 ? o_.cpu_tdp_w : 85.0; }
  [[nodiscard]] double ram_power() const { return ram_gib_ * 3.0 / 8.0; }  // CodeCarbon: 3 W per 8 GB
  static std::string timestamp() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return buf;
  }
  static std::string os_name() {  // as Python's platform.platform(), roughly: Linux-6.1.0-18-amd64-x86_64
    utsname u{};
    if (uname(&u) != 0) return "Linux";
    return std::string(u.sysname) + "-" + u.release + "-" + u.machine;
  }

  emissions_options o_;
  std::optional<detail::rapl_reader> rapl_;
  std::unique_ptr<detail::nvml_reader> nvml_;
  double intensity_ = world_carbon_intensity;
  std::string run_id_;
  std::chrono::steady_clock::time_point t0_, last_;
  std::optional<detail::cpu_times> times0_, times_;
  double cpu_j_ = 0, gpu_j_ = 0, ram_j_ = 0, ram_gib_ = 0;
  bool started_ = false;
};

}  // namespace sbert
