// The metadata schema as an append-only list of migrations: entry i takes the database from
// user_version i to i+1. Never edit an entry once released; add a new one.
#pragma once

#include <string>
#include <vector>

namespace berth::metadata {

const std::vector<std::string>& Migrations();

}  // namespace berth::metadata
