// Describes the statically linked ICU extension to DuckDB, the way DuckDB's generated loader
// describes core_functions, parquet and json (generated_extension_loader_package_build.cpp).
#include "duckdb/main/extension/extension_loader.hpp"
#include "duckdb_static_extension.h"

extern "C" void icu_duckdb_cpp_init(duckdb::ExtensionLoader &loader);

extern "C" int32_t sluice_duckdb_extension_icu_describe(duckdb_extension_descriptor *descriptor) {
	if (descriptor->version < 1) {
		descriptor->set_error(descriptor, "extension icu needs descriptor layout 1");
		return 1;
	}
	descriptor->version = 1;
	descriptor->name = "icu";
	descriptor->extension_version = EXT_VERSION_ICU;
	descriptor->api_version = "v2.0.0";
	descriptor->entry_cpp = (void (*)(void))icu_duckdb_cpp_init;
	return 0;
}

extern "C" int32_t sluice_duckdb_register_icu(void) {
	return duckdb_register_static_extension(sluice_duckdb_extension_icu_describe);
}
