// Columnar store of the parameters of one population of not-yet-built nodes.
//
// A population of 10^7 neurons usually shares most parameter values, so a column keeps one
// scalar until some node differs and only then pays for one value per node. Plain C++17: the
// Python layer (bindings.cpp) converts NumPy arrays to contiguous double / int64 / bool buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace jitnest {

enum class DType { Float64, Int64, Bool };

// NumPy's name for the dtype, which is also what Python code sees.
const char* dtype_name(DType dtype) noexcept;

// One parameter value as it crosses the language boundary.
using Scalar = std::variant<double, std::int64_t, bool>;

// Signed so that a negative position coming from Python is reported as out of range instead of
// wrapping around to a huge unsigned one.
using Index = std::int64_t;

// A name that is not a column of the store; the bindings turn it into KeyError.
class UnknownColumn : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class T>
struct TypedColumn {
  using value_type = T;
  bool uniform = true;
  T value{};              // the value of every node while uniform
  std::vector<T> values;  // one value per node while dense; empty (no capacity) while uniform
};

// bool is held as one byte per node, not as std::vector<bool>: that one is bit-packed and so has
// no contiguous array that NumPy's bool arrays could be copied to or from.
using Column = std::variant<TypedColumn<double>, TypedColumn<std::int64_t>, TypedColumn<std::uint8_t>>;

class ParameterStore {
 public:
  explicit ParameterStore(std::size_t size);

  std::size_t size() const noexcept { return size_; }

  // Writers. A new column takes its dtype from the given values; an existing column keeps its
  // dtype and the values are converted to it. `In` is double, std::int64_t or bool.
  void set_uniform(const std::string& name, Scalar value);
  template <class In>
  void set_array(const std::string& name, const In* values, std::size_t n);
  void set_at(const std::string& name, const Index* indices, std::size_t n, Scalar value);
  template <class In>
  void set_at(const std::string& name, const Index* indices, std::size_t n, const In* values);

  // Readers. `Out` must be the element type of the column's dtype (double, std::int64_t, bool).
  Scalar uniform_value(const std::string& name) const;
  Scalar get_one(const std::string& name, Index index) const;
  template <class Out>
  void copy_all(const std::string& name, Out* out) const;
  template <class Out>
  void copy_at(const std::string& name, const Index* indices, std::size_t n, Out* out) const;

  bool contains(const std::string& name) const noexcept;
  bool is_uniform(const std::string& name) const;
  DType dtype(const std::string& name) const;
  std::vector<std::string> names() const;
  std::size_t num_columns() const noexcept { return columns_.size(); }
  std::size_t num_dense() const noexcept;
  std::size_t nbytes() const noexcept;

  // Makes a dense column whose values are all equal uniform again; returns whether the column is
  // uniform afterwards.
  bool compact(const std::string& name);
  void drop(const std::string& name);
  void release() noexcept;

 private:
  struct Entry {
    std::string name;
    Column column;
  };

  Entry* lookup(const std::string& name) noexcept;
  const Entry* lookup(const std::string& name) const noexcept;
  Column& column(const std::string& name);
  const Column& column(const std::string& name) const;
  template <class T>
  const TypedColumn<T>& typed(const std::string& name) const;
  void check_indices(const std::string& name, const Index* indices, std::size_t n) const;

  std::size_t size_;
  // A population has tens of parameters at most, so a linear search is cheap, and a vector keeps
  // the insertion order that names() promises.
  std::vector<Entry> columns_;
};

}  // namespace jitnest
