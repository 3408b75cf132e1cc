"""The few wasmtime C functions the call path uses, bound with cheap argument types.

wasmtime-py's own bindings type every context and value argument as a typed pointer, which
costs a pointer object per call. These are separate function objects over the same library
symbols (wasmtime-py's bindings are left untouched) taking plain addresses (`c_void_p`).
"""

from __future__ import annotations

import ctypes
from ctypes import CFUNCTYPE, POINTER, c_bool, c_char_p, c_size_t, c_uint32, c_void_p
from typing import Any

from wasmtime import WasmtimeError
from wasmtime import _ffi as ffi

VAL = ffi.wasmtime_component_val_t
VAL_P = POINTER(VAL)
VAL_SIZE = ctypes.sizeof(VAL)
ENTRY = ffi.wasmtime_component_valrecord_entry_t
ENTRY_SIZE = ctypes.sizeof(ENTRY)
ENTRY_VAL = ENTRY.val.offset
NAME_SIZE = ctypes.sizeof(ffi.wasm_name_t)
VALTUPLE = ffi.wasmtime_component_valtuple_t
OF = VAL.of.offset  # where the payload union starts inside a value

K_BOOL, K_S8, K_U8, K_S16, K_U16, K_S32, K_U32, K_S64, K_U64 = range(9)
K_F32, K_F64, K_CHAR, K_STRING, K_LIST, K_RECORD, K_TUPLE = range(9, 16)
K_VARIANT, K_ENUM, K_OPTION, K_RESULT, K_FLAGS, K_RESOURCE = range(16, 22)


def _bind(name: str, restype: Any, *argtypes: Any) -> Any:
    return CFUNCTYPE(restype, *argtypes)((name, ffi.dll))


# wasm_byte_vec_new copies `size` bytes from `data` into a fresh engine-owned vec.
byte_vec_new = _bind("wasm_byte_vec_new", None, c_void_p, c_size_t, c_char_p)
vallist_new_uninit = _bind("wasmtime_component_vallist_new_uninit", None, c_void_p, c_size_t)
vallist_delete = _bind("wasmtime_component_vallist_delete", None, c_void_p)
valrecord_new_uninit = _bind("wasmtime_component_valrecord_new_uninit", None, c_void_p, c_size_t)
valrecord_delete = _bind("wasmtime_component_valrecord_delete", None, c_void_p)
valtuple_new_uninit = _bind("wasmtime_component_valtuple_new_uninit", None, c_void_p, c_size_t)
valtuple_delete = _bind("wasmtime_component_valtuple_delete", None, c_void_p)
valflags_new_uninit = _bind("wasmtime_component_valflags_new_uninit", None, c_void_p, c_size_t)
valflags_delete = _bind("wasmtime_component_valflags_delete", None, c_void_p)
# val_new moves the value at the address onto an engine heap allocation (for option/variant/
# result payloads); val_delete drops what a value owns, not the value's own storage.
val_new = _bind("wasmtime_component_val_new", c_void_p, c_void_p)
val_delete = _bind("wasmtime_component_val_delete", None, c_void_p)

any_clone = _bind("wasmtime_component_resource_any_clone", c_void_p, c_void_p)
any_delete = _bind("wasmtime_component_resource_any_delete", None, c_void_p)
any_to_host = _bind(
    "wasmtime_component_resource_any_to_host", c_void_p, c_void_p, c_void_p, c_void_p
)
host_new = _bind("wasmtime_component_resource_host_new", c_void_p, c_bool, c_uint32, c_uint32)
host_rep = _bind("wasmtime_component_resource_host_rep", c_uint32, c_void_p)
host_type = _bind("wasmtime_component_resource_host_type", c_uint32, c_void_p)
host_owned = _bind("wasmtime_component_resource_host_owned", c_bool, c_void_p)
host_delete = _bind("wasmtime_component_resource_host_delete", None, c_void_p)
host_to_any = _bind(
    "wasmtime_component_resource_host_to_any", c_void_p, c_void_p, c_void_p, c_void_p
)

error_new = _bind("wasmtime_error_new", c_void_p, c_char_p)
error_delete = _bind("wasmtime_error_delete", None, c_void_p)

func_call = _bind(
    "wasmtime_component_func_call", c_void_p, c_void_p, c_void_p, VAL_P, c_size_t, VAL_P, c_size_t
)

# The host-function callback as the engine calls it, with addresses instead of typed pointers
# for the store context and the function type (neither is needed on the scalar path).
HOST_CALLBACK = CFUNCTYPE(c_size_t, c_void_p, c_void_p, c_void_p, VAL_P, c_size_t, VAL_P, c_size_t)
FINALIZER = CFUNCTYPE(None, c_void_p)
RESOURCE_DTOR = CFUNCTYPE(c_size_t, c_void_p, c_void_p, c_uint32)


def as_address(ptr: Any) -> int:
    """The address a ctypes pointer holds (0 for NULL)."""
    return ctypes.cast(ptr, c_void_p).value or 0


def error_message(err: int) -> str:
    """Read and free an engine error given by address."""
    exc = WasmtimeError._from_ptr(ctypes.cast(err, POINTER(ffi.wasmtime_error_t)))
    return str(exc)
