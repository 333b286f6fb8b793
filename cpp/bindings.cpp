// Thin pybind11 layer over jitnest::ParameterStore: turns Python scalars and NumPy arrays into
// contiguous double / int64 / bool buffers and back. All store logic lives in parameter_store.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>

#include "parameter_store.hpp"

namespace py = pybind11;
using jitnest::DType;
using jitnest::Index;
using jitnest::ParameterStore;
using jitnest::Scalar;

namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// The dtype is read from NumPy's kind so that bool is never taken for int, and NumPy scalars
// (np.float32, np.int8, np.bool_) behave like Python's float, int and bool.
DType dtype_of(const py::array& a, const std::string& name) {
  switch (a.dtype().kind()) {
    case 'b':
      return DType::Bool;
    case 'i':
    case 'u':
      return DType::Int64;
    case 'f':
      return DType::Float64;
    default:
      throw py::type_error("parameter '" + name + "': values of dtype " + py::str(a.dtype()).cast<std::string>() +
                           " are not supported; use float, int or bool");
  }
}

// Calls f(T{}) with the C++ element type that carries `dtype` across the boundary.
template <class F>
decltype(auto) with_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float64:
      return f(double{});
    case DType::Int64:
      return f(std::int64_t{});
    case DType::Bool:
      return f(bool{});
  }
  throw std::logic_error("unknown dtype");
}

// Calls f(const T* data, size_t n) with the values of `a` as a contiguous array of their dtype;
// NumPy copies only when `a` is not already such an array.
template <class F>
void with_values(const py::array& a, const std::string& name, F&& f) {
  with_type(dtype_of(a, name), [&](auto tag) {
    CArray<decltype(tag)> values(a);
    f(values.data(), static_cast<std::size_t>(values.size()));
  });
}

Scalar to_scalar(const py::array& a, const std::string& name) {
  Scalar result;
  with_values(a, name, [&](const auto* data, std::size_t) { result = data[0]; });
  return result;
}

py::object to_python(const Scalar& value) {
  return std::visit([](auto v) -> py::object { return py::cast(v); }, value);
}

CArray<Index> to_indices(const py::object& obj, const std::string& name) {
  py::array a(obj);
  // An empty list arrives as float64; anything else non-integer is a mistake (a bool mask, or
  // floats that forcecast would silently truncate).
  const char kind = a.dtype().kind();
  if (a.ndim() != 1 || (a.size() > 0 && kind != 'i' && kind != 'u')) {
    throw py::type_error("parameter '" + name + "': indices must be a 1-D array of integers");
  }
  return CArray<Index>(a);
}

py::object get(const ParameterStore& store, const std::string& name) {
  if (store.is_uniform(name)) {
    return to_python(store.uniform_value(name));
  }
  // A fresh NumPy-owned array: the column's vector may be freed by drop() while Python still
  // holds the result.
  return with_type(store.dtype(name), [&](auto tag) -> py::object {
    CArray<decltype(tag)> out(static_cast<py::ssize_t>(store.size()));
    store.copy_all(name, out.mutable_data());
    return std::move(out);
  });
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "Compiled core of jitnest: columnar parameter storage for populations not yet built in NEST.";

  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) {
        std::rethrow_exception(p);
      }
    } catch (const jitnest::UnknownColumn& e) {
      PyErr_SetString(PyExc_KeyError, e.what());
    }
  });

  py::class_<ParameterStore>(m, "ParameterStore", R"doc(Parameter values of one population of ``size`` nodes, one named column per parameter.

A column has dtype "float64", "int64" or "bool" and is either uniform (one value shared by
all nodes, costing a few bytes) or dense (one value per node). It starts uniform and becomes
dense only when some node's value differs. Indices are 0-based positions in the population.
)doc")
      .def(py::init([](std::int64_t size) {
             if (size < 0) {
               throw py::value_error("population size must not be negative, got " + std::to_string(size));
             }
             return ParameterStore(static_cast<std::size_t>(size));
           }),
           py::arg("size"), "Create an empty store for a population of ``size`` nodes.")
      .def_property_readonly("size", &ParameterStore::size, "Number of nodes in the population.")
      .def(
          "set_uniform",
          [](ParameterStore& self, const std::string& name, const py::object& value) {
            py::array a(value);
            if (a.ndim() != 0) {
              throw py::type_error("parameter '" + name + "': set_uniform takes a scalar; use set_array");
            }
            self.set_uniform(name, to_scalar(a, name));
          },
          py::arg("name"), py::arg("value"), R"doc(Give every node the same value; the column becomes uniform.

A new column's dtype follows the value's type (bool, int -> int64, float -> float64); an
existing column keeps its dtype and the value is converted to it.
)doc")
      .def(
          "set_array",
          [](ParameterStore& self, const std::string& name, const py::object& values) {
            py::array a(values);
            if (a.ndim() != 1) {
              throw py::value_error("parameter '" + name + "': set_array takes a 1-D array, got " +
                                    std::to_string(a.ndim()) + " dimensions");
            }
            with_values(a, name, [&](const auto* data, std::size_t n) { self.set_array(name, data, n); });
          },
          py::arg("name"), py::arg("values"), R"doc(Set one value per node from a 1-D array (or sequence) of length ``size``.

A new column's dtype follows the array's (float -> float64, integer -> int64, bool); an
existing column keeps its dtype. Raises ValueError on a length mismatch. If all values are
equal the column is stored as uniform.
)doc")
      .def(
          "set_at",
          [](ParameterStore& self, const std::string& name, const py::object& indices, const py::object& values) {
            CArray<Index> idx = to_indices(indices, name);
            const auto n = static_cast<std::size_t>(idx.size());
            py::array v(values);
            if (v.ndim() == 0) {
              self.set_at(name, idx.data(), n, to_scalar(v, name));
              return;
            }
            if (v.ndim() != 1 || static_cast<std::size_t>(v.size()) != n) {
              throw py::value_error("parameter '" + name + "': " + std::to_string(v.size()) + " values for " +
                                    std::to_string(n) + " indices");
            }
            with_values(v, name, [&](const auto* data, std::size_t) { self.set_at(name, idx.data(), n, data); });
          },
          py::arg("name"), py::arg("indices"), py::arg("values"), R"doc(Set the values at the given positions; ``values`` is a scalar or an array as long as ``indices``.

A uniform column turns dense only if some new value differs from the shared one. The column
must exist (KeyError otherwise); positions outside ``[0, size)`` raise IndexError.
)doc")
      .def("get", &get, py::arg("name"), R"doc(The column's values: a Python scalar if uniform, else a new NumPy array of length ``size``.

The array is a copy; changing it does not change the store.
)doc")
      .def(
          "get_at",
          [](const ParameterStore& self, const std::string& name, const py::object& indices) {
            CArray<Index> idx = to_indices(indices, name);
            return with_type(self.dtype(name), [&](auto tag) -> py::object {
              CArray<decltype(tag)> out(idx.size());
              self.copy_at(name, idx.data(), static_cast<std::size_t>(idx.size()), out.mutable_data());
              return std::move(out);
            });
          },
          py::arg("name"), py::arg("indices"), "A new NumPy array of the values at the given positions.")
      .def(
          "get_one",
          [](const ParameterStore& self, const std::string& name, Index index) {
            return to_python(self.get_one(name, index));
          },
          py::arg("name"), py::arg("index"), "The value of one node as a Python scalar.")
      .def("is_uniform", &ParameterStore::is_uniform, py::arg("name"),
           "Whether all nodes share one stored value.")
      .def(
          "dtype", [](const ParameterStore& self, const std::string& name) {
            return jitnest::dtype_name(self.dtype(name));
          },
          py::arg("name"), "The column's dtype: \"float64\", \"int64\" or \"bool\".")
      .def("names", &ParameterStore::names, "Column names in the order they were first set.")
      .def("__contains__", &ParameterStore::contains, py::arg("name"))
      .def("__len__", &ParameterStore::num_columns, "Number of columns.")
      .def("compact", &ParameterStore::compact, py::arg("name"), R"doc(Store a dense column whose values are all equal as uniform, freeing its array.

Returns whether the column is uniform afterwards.
)doc")
      .def("drop", &ParameterStore::drop, py::arg("name"), "Remove a column and free its memory.")
      .def("release", &ParameterStore::release, "Remove all columns and free their memory.")
      .def(
          "take",
          [](ParameterStore& self, const std::string& name) {
            py::object values = get(self, name);
            self.drop(name);
            return values;
          },
          py::arg("name"), R"doc(Like ``get`` followed by ``drop``: hand the values over and free the column at once, so only
one copy exists while parameters are pushed into NEST column by column.
)doc")
      .def("nbytes", &ParameterStore::nbytes,
           "Bytes held by column data: the capacity of dense arrays plus one value per uniform column.")
      .def("__repr__", [](const ParameterStore& self) {
        return "ParameterStore(size=" + std::to_string(self.size()) + ", columns=" +
               std::to_string(self.num_columns()) + ", dense=" + std::to_string(self.num_dense()) + ")";
      });
}
