#include "parameter_store.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <sstream>
#include <type_traits>

namespace jitnest {
namespace {

// The element type that values of C++ type In are stored as in a new column.
template <class In>
using storage_t = std::conditional_t<std::is_same_v<In, bool>, std::uint8_t, In>;

template <class T>
using value_type_of = typename std::decay_t<T>::value_type;

template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, double>) {
    return DType::Float64;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return DType::Int64;
  } else {
    return DType::Bool;
  }
}

template <class T, class In>
T convert(In v, const std::string& name) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    return v != In{} ? 1 : 0;
  } else if constexpr (std::is_same_v<T, std::int64_t> && std::is_floating_point_v<In>) {
    // Truncating 1.5 to 1 would silently change the model, and casting NaN or an out-of-range
    // value is undefined behaviour, so only whole numbers that fit are accepted.
    if (!(std::trunc(v) == v && v >= -0x1p63 && v < 0x1p63)) {
      std::ostringstream msg;
      msg << "parameter '" << name << "' has dtype int64 and cannot hold " << v;
      throw std::invalid_argument(msg.str());
    }
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

template <class T>
T convert_scalar(const Scalar& value, const std::string& name) {
  return std::visit([&](auto v) { return convert<T>(v, name); }, value);
}

template <class T>
Scalar to_scalar(T v) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    return v != 0;
  } else {
    return v;
  }
}

template <class T>
void make_uniform(TypedColumn<T>& col, T value) {
  col.uniform = true;
  col.value = value;
  // clear() would keep the capacity; swapping with an empty vector hands the memory back.
  std::vector<T>().swap(col.values);
}

// Writes get(i) at indices[i] (indices already checked). A first pass converts every value, so a
// value that does not fit the dtype leaves the column untouched, and finds out whether a uniform
// column would change at all: re-setting the shared value must not cost `size` values.
template <class T, class Get>
void assign_at(TypedColumn<T>& col, std::size_t size, const Index* indices, std::size_t n, Get get) {
  bool unchanged = col.uniform;
  for (std::size_t i = 0; i < n; ++i) {
    const T v = get(i);
    unchanged = unchanged && v == col.value;
  }
  if (unchanged) {
    return;
  }
  if (col.uniform) {
    col.values.assign(size, col.value);
    col.uniform = false;
  }
  for (std::size_t i = 0; i < n; ++i) {
    col.values[static_cast<std::size_t>(indices[i])] = get(i);
  }
}

std::string unknown(const std::string& name) { return "unknown parameter '" + name + "'"; }

}  // namespace

const char* dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::Float64:
      return "float64";
    case DType::Int64:
      return "int64";
    case DType::Bool:
      return "bool";
  }
  return "unknown";
}

ParameterStore::ParameterStore(std::size_t size) : size_(size) {}

ParameterStore::Entry* ParameterStore::lookup(const std::string& name) noexcept {
  auto it = std::find_if(columns_.begin(), columns_.end(), [&](const Entry& e) { return e.name == name; });
  return it == columns_.end() ? nullptr : &*it;
}

const ParameterStore::Entry* ParameterStore::lookup(const std::string& name) const noexcept {
  return const_cast<ParameterStore*>(this)->lookup(name);
}

Column& ParameterStore::column(const std::string& name) {
  if (Entry* entry = lookup(name)) {
    return entry->column;
  }
  throw UnknownColumn(unknown(name));
}

const Column& ParameterStore::column(const std::string& name) const {
  return const_cast<ParameterStore*>(this)->column(name);
}

template <class T>
const TypedColumn<T>& ParameterStore::typed(const std::string& name) const {
  if (const auto* col = std::get_if<TypedColumn<T>>(&column(name))) {
    return *col;
  }
  throw std::invalid_argument("parameter '" + name + "' has dtype " + dtype_name(dtype(name)) +
                              ", not " + dtype_name(dtype_of<T>()));
}

void ParameterStore::check_indices(const std::string& name, const Index* indices, std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) {
    if (indices[i] < 0 || static_cast<std::size_t>(indices[i]) >= size_) {
      throw std::out_of_range("index " + std::to_string(indices[i]) + " is out of range for parameter '" +
                              name + "' of a population of size " + std::to_string(size_));
    }
  }
}

void ParameterStore::set_uniform(const std::string& name, Scalar value) {
  Entry* entry = lookup(name);
  if (!entry) {
    Column fresh = std::visit([](auto v) { return Column{TypedColumn<storage_t<decltype(v)>>{}}; }, value);
    entry = &columns_.emplace_back(Entry{name, std::move(fresh)});
  }
  std::visit(
      [&](auto& col) {
        using T = value_type_of<decltype(col)>;
        make_uniform(col, convert_scalar<T>(value, name));
      },
      entry->column);
}

template <class In>
void ParameterStore::set_array(const std::string& name, const In* values, std::size_t n) {
  if (n != size_) {
    throw std::length_error("parameter '" + name + "' got " + std::to_string(n) +
                            " values for a population of size " + std::to_string(size_));
  }
  Entry* entry = lookup(name);
  if (!entry) {
    entry = &columns_.emplace_back(Entry{name, TypedColumn<storage_t<In>>{}});
  }
  std::visit(
      [&](auto& col) {
        using T = value_type_of<decltype(col)>;
        // Converting everything before touching the column keeps it intact when a value does
        // not fit, and finds the common case of an array that repeats one value.
        bool all_equal = true;
        const T first = n > 0 ? convert<T>(values[0], name) : T{};
        for (std::size_t i = 1; i < n; ++i) {
          all_equal = convert<T>(values[i], name) == first && all_equal;
        }
        if (all_equal && n > 0) {
          make_uniform(col, first);
          return;
        }
        std::vector<T> dense;
        dense.reserve(n);
        std::transform(values, values + n, std::back_inserter(dense),
                       [&](In v) { return convert<T>(v, name); });
        col.values.swap(dense);  // the old buffer, if any, goes with `dense`
        col.uniform = false;
      },
      entry->column);
}

void ParameterStore::set_at(const std::string& name, const Index* indices, std::size_t n, Scalar value) {
  Column& target = column(name);
  check_indices(name, indices, n);
  std::visit(
      [&](auto& col) {
        using T = value_type_of<decltype(col)>;
        const T v = convert_scalar<T>(value, name);
        assign_at(col, size_, indices, n, [v](std::size_t) { return v; });
      },
      target);
}

template <class In>
void ParameterStore::set_at(const std::string& name, const Index* indices, std::size_t n, const In* values) {
  Column& target = column(name);
  check_indices(name, indices, n);
  std::visit(
      [&](auto& col) {
        using T = value_type_of<decltype(col)>;
        assign_at(col, size_, indices, n, [&](std::size_t i) { return convert<T>(values[i], name); });
      },
      target);
}

Scalar ParameterStore::uniform_value(const std::string& name) const {
  return std::visit(
      [&](const auto& col) {
        if (!col.uniform) {
          throw std::invalid_argument("parameter '" + name + "' is not uniform");
        }
        return to_scalar(col.value);
      },
      column(name));
}

Scalar ParameterStore::get_one(const std::string& name, Index index) const {
  const Column& source = column(name);
  check_indices(name, &index, 1);
  return std::visit(
      [&](const auto& col) {
        return to_scalar(col.uniform ? col.value : col.values[static_cast<std::size_t>(index)]);
      },
      source);
}

template <class Out>
void ParameterStore::copy_all(const std::string& name, Out* out) const {
  const auto& col = typed<storage_t<Out>>(name);
  if (col.uniform) {
    std::fill_n(out, size_, static_cast<Out>(col.value));
  } else {
    std::copy(col.values.begin(), col.values.end(), out);
  }
}

template <class Out>
void ParameterStore::copy_at(const std::string& name, const Index* indices, std::size_t n, Out* out) const {
  const auto& col = typed<storage_t<Out>>(name);
  check_indices(name, indices, n);
  if (col.uniform) {
    std::fill_n(out, n, static_cast<Out>(col.value));
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = static_cast<Out>(col.values[static_cast<std::size_t>(indices[i])]);
    }
  }
}

bool ParameterStore::contains(const std::string& name) const noexcept { return lookup(name) != nullptr; }

bool ParameterStore::is_uniform(const std::string& name) const {
  return std::visit([](const auto& col) { return col.uniform; }, column(name));
}

DType ParameterStore::dtype(const std::string& name) const {
  return std::visit([](const auto& col) { return dtype_of<value_type_of<decltype(col)>>(); },
                    column(name));
}

std::vector<std::string> ParameterStore::names() const {
  std::vector<std::string> result;
  result.reserve(columns_.size());
  for (const Entry& entry : columns_) {
    result.push_back(entry.name);
  }
  return result;
}

std::size_t ParameterStore::num_dense() const noexcept {
  return static_cast<std::size_t>(std::count_if(columns_.begin(), columns_.end(), [](const Entry& e) {
    return std::visit([](const auto& col) { return !col.uniform; }, e.column);
  }));
}

std::size_t ParameterStore::nbytes() const noexcept {
  std::size_t total = 0;
  for (const Entry& entry : columns_) {
    total += std::visit(
        [](const auto& col) {
          using T = value_type_of<decltype(col)>;
          return col.uniform ? sizeof(T) : col.values.capacity() * sizeof(T);
        },
        entry.column);
  }
  return total;
}

bool ParameterStore::compact(const std::string& name) {
  return std::visit(
      [](auto& col) {
        const auto& v = col.values;
        if (!col.uniform && !v.empty() && std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) == v.end()) {
          make_uniform(col, v.front());  // the value is copied before the vector is freed
        }
        return col.uniform;
      },
      column(name));
}

void ParameterStore::drop(const std::string& name) {
  auto it = std::find_if(columns_.begin(), columns_.end(), [&](const Entry& e) { return e.name == name; });
  if (it == columns_.end()) {
    throw UnknownColumn(unknown(name));
  }
  columns_.erase(it);
}

void ParameterStore::release() noexcept { std::vector<Entry>().swap(columns_); }

// The bindings only ever pass these element types.
template void ParameterStore::set_array<double>(const std::string&, const double*, std::size_t);
template void ParameterStore::set_array<std::int64_t>(const std::string&, const std::int64_t*, std::size_t);
template void ParameterStore::set_array<bool>(const std::string&, const bool*, std::size_t);
template void ParameterStore::set_at<double>(const std::string&, const Index*, std::size_t, const double*);
template void ParameterStore::set_at<std::int64_t>(const std::string&, const Index*, std::size_t,
                                                   const std::int64_t*);
template void ParameterStore::set_at<bool>(const std::string&, const Index*, std::size_t, const bool*);
template void ParameterStore::copy_all<double>(const std::string&, double*) const;
template void ParameterStore::copy_all<std::int64_t>(const std::string&, std::int64_t*) const;
template void ParameterStore::copy_all<bool>(const std::string&, bool*) const;
template void ParameterStore::copy_at<double>(const std::string&, const Index*, std::size_t, double*) const;
template void ParameterStore::copy_at<std::int64_t>(const std::string&, const Index*, std::size_t,
                                                    std::int64_t*) const;
template void ParameterStore::copy_at<bool>(const std::string&, const Index*, std::size_t, bool*) const;

}  // namespace jitnest
