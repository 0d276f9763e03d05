// A metadata Db in a fresh temporary directory, removed at the end of the test.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "common/fs.h"
#include "metadata/db.h"

namespace berth::metadata {

class TempDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-meta-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = Db::Open(dir_ + "/meta.db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    ASSERT_TRUE(RemoveAll(dir_).ok());
  }
  // Runs raw SQL (test fixtures for tables other engineers' stores own).
  void Sql(const std::string& sql) {
    ASSERT_TRUE(db_->Update([&](Tx& tx) { return tx.Exec(sql); }).ok()) << sql;
  }
  void SetLabels(const std::string& ns, const std::string& kind, const std::string& object, const Labels& l) {
    ASSERT_TRUE(db_->Update([&](Tx& tx) { return tx.SetLabels(ns, kind, object, l); }).ok());
  }
  std::string dir_;
  std::unique_ptr<Db> db_;
};

}  // namespace berth::metadata
