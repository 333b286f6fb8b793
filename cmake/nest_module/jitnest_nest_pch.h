// The NEST headers that NESTML-generated models and their registration include, precompiled once
// per toolchain and force-included into every translation unit of a generated module.
//
// Only headers with include guards may appear here: nest_impl.h (and three other *_impl.h
// files) have none and are included by the generated code itself, so they are left out and
// their dependencies are listed instead.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "config.h"
#include "kernel_manager.h"

#include "archiving_node.h"
#include "common_synapse_properties.h"
#include "connection.h"
#include "connection_manager_impl.h"
#include "connector_model.h"
#include "connector_model_impl.h"
#include "dict_util.h"
#include "event.h"
#include "exceptions.h"
#include "genericmodel.h"
#include "genericmodel_impl.h"
#include "io_manager_impl.h"
#include "model.h"
#include "model_manager_impl.h"
#include "nest.h"
#include "nest_time.h"
#include "nest_types.h"
#include "numerics.h"
#include "ring_buffer.h"
#include "sp_manager_impl.h"
#include "target_identifier.h"
#include "universal_data_logger.h"
#include "universal_data_logger_impl.h"
