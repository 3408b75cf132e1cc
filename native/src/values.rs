//! Python values <-> component-model values, for the types the prototype's calls use.
//!
//! Scalars, `string`, `char`, `list<T>`, `tuple<...>`, `record` (a dict by field name),
//! `option<T>` (None or the value), `enum` (its case name) and `result<T, E>` (the ok value, or a
//! raised `RuntimeError` naming the error value). Resources, streams and futures are refused.

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use wasmtime::component::{Type, Val};

/// The component value of Python `obj` for the WIT type `ty`.
pub fn to_val(obj: &Bound<'_, PyAny>, ty: &Type) -> PyResult<Val> {
    Ok(match ty {
        Type::Bool => Val::Bool(obj.extract()?),
        Type::S8 => Val::S8(obj.extract()?),
        Type::U8 => Val::U8(obj.extract()?),
        Type::S16 => Val::S16(obj.extract()?),
        Type::U16 => Val::U16(obj.extract()?),
        Type::S32 => Val::S32(obj.extract()?),
        Type::U32 => Val::U32(obj.extract()?),
        Type::S64 => Val::S64(obj.extract()?),
        Type::U64 => Val::U64(obj.extract()?),
        Type::Float32 => Val::Float32(obj.extract()?),
        Type::Float64 => Val::Float64(obj.extract()?),
        Type::Char => Val::Char(obj.extract()?),
        Type::String => Val::String(obj.extract()?),
        Type::Enum(_) => Val::Enum(obj.extract()?),
        Type::List(list) => {
            let elem = list.ty();
            let mut out = Vec::new();
            for item in obj.try_iter()? {
                out.push(to_val(&item?, &elem)?);
            }
            Val::List(out)
        }
        Type::Tuple(tuple) => {
            let items: Vec<Bound<'_, PyAny>> = obj.try_iter()?.collect::<PyResult<_>>()?;
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return Err(PyTypeError::new_err(format!(
                    "a tuple of {} values is expected, not {}",
                    types.len(),
                    items.len()
                )));
            }
            let vals = items.iter().zip(&types).map(|(o, t)| to_val(o, t));
            Val::Tuple(vals.collect::<PyResult<_>>()?)
        }
        Type::Record(record) => {
            let dict = obj.cast::<PyDict>()?;
            let mut fields = Vec::new();
            for field in record.fields() {
                let value = dict.get_item(field.name)?.ok_or_else(|| {
                    PyTypeError::new_err(format!("record field {:?} is missing", field.name))
                })?;
                fields.push((field.name.to_string(), to_val(&value, &field.ty)?));
            }
            Val::Record(fields)
        }
        Type::Option(option) => {
            if obj.is_none() {
                Val::Option(None)
            } else {
                Val::Option(Some(Box::new(to_val(obj, &option.ty())?)))
            }
        }
        other => {
            return Err(PyTypeError::new_err(format!(
                "the prototype does not pass values of type {other:?} from Python"
            )));
        }
    })
}

/// The Python value of the component value `val`.
pub fn to_py(py: Python<'_>, val: &Val) -> PyResult<Py<PyAny>> {
    Ok(match val {
        Val::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Val::S8(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::U8(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::S16(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::U16(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::S32(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::U32(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::S64(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::U64(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::Float32(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::Float64(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::Char(c) => c.into_pyobject(py)?.into_any().unbind(),
        Val::String(s) | Val::Enum(s) => s.into_pyobject(py)?.into_any().unbind(),
        Val::List(items) | Val::FixedLengthList(items) => {
            let objs: Vec<Py<PyAny>> = items.iter().map(|v| to_py(py, v)).collect::<PyResult<_>>()?;
            PyList::new(py, objs)?.into_any().unbind()
        }
        Val::Tuple(items) => {
            let objs: Vec<Py<PyAny>> = items.iter().map(|v| to_py(py, v)).collect::<PyResult<_>>()?;
            PyTuple::new(py, objs)?.into_any().unbind()
        }
        Val::Record(fields) => {
            let dict = PyDict::new(py);
            for (name, v) in fields {
                dict.set_item(name, to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
        Val::Option(None) => py.None(),
        Val::Option(Some(v)) => to_py(py, v)?,
        Val::Result(Ok(None)) => py.None(),
        Val::Result(Ok(Some(v))) => to_py(py, v)?,
        Val::Result(Err(e)) => {
            let detail = match e {
                Some(v) => format!("{v:?}"),
                None => "no value".to_string(),
            };
            return Err(PyRuntimeError::new_err(format!("the export returned an error: {detail}")));
        }
        Val::Flags(names) => PyList::new(py, names)?.into_any().unbind(),
        Val::Variant(case, payload) => {
            let value = match payload {
                Some(v) => to_py(py, v)?,
                None => py.None(),
            };
            PyTuple::new(py, [case.into_pyobject(py)?.into_any().unbind(), value])?
                .into_any()
                .unbind()
        }
        other => {
            return Err(PyTypeError::new_err(format!(
                "the prototype does not return values like {other:?} to Python"
            )));
        }
    })
}
