// Jacobi-preconditioned conjugate gradient: dense agreement, stop reporting, singular input,
// errors.
#include "residue/solve/conjugate_gradient.h"

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <random>

#include "residue/core/error.h"

namespace residue {
namespace {

/// A random SPD matrix M M^T + n I with a badly scaled diagonal, which Jacobi should undo.
Eigen::MatrixXd random_spd(Eigen::Index n, std::mt19937& gen) {
  std::normal_distribution<double> normal;
  const Eigen::MatrixXd m = Eigen::MatrixXd::NullaryExpr(n, n, [&] { return normal(gen); });
  const Eigen::VectorXd scale =
      Eigen::VectorXd::LinSpaced(n, 0, 3).unaryExpr([](double e) { return std::pow(10.0, e); });
  const Eigen::MatrixXd spd =
      m * m.transpose() + static_cast<double>(n) * Eigen::MatrixXd::Identity(n, n);
  return scale.asDiagonal() * spd * scale.asDiagonal();
}

SymmetricApply dense_apply(const Eigen::MatrixXd& g) {
  return [&g](const Eigen::VectorXd& x, Eigen::VectorXd& y) { y = g * x; };
}

TEST_CASE("conjugate gradient matches a dense solve", "[cg]") {
  std::mt19937 gen(21);
  const Eigen::MatrixXd g = random_spd(50, gen);
  std::normal_distribution<double> normal;
  const Eigen::VectorXd b = Eigen::VectorXd::NullaryExpr(50, [&] { return normal(gen); });
  const CgResult r = conjugate_gradient(dense_apply(g), g.diagonal(), b, {.tolerance = 1e-12});
  REQUIRE(r.converged);
  CHECK(r.relative_residual <= 1e-12);
  CHECK(r.iterations <= 50);
  const Eigen::VectorXd expected = g.llt().solve(b);
  // Jacobi-scaled condition is ~10, so a 1e-12 residual gives about 1e-11 error.
  CHECK((r.x - expected).norm() <= 1e-9 * expected.norm());
  // The reported residual is the true one, up to rounding in the recurrence.
  CHECK((b - g * r.x).norm() <= 1e-10 * b.norm());
}

TEST_CASE("conjugate gradient solves a diagonal system in one step", "[cg]") {
  // Jacobi preconditioning makes a diagonal G the identity.
  const Eigen::VectorXd d = Eigen::VectorXd::LinSpaced(10, 1, 1000);
  const Eigen::MatrixXd g = d.asDiagonal();
  const Eigen::VectorXd b = Eigen::VectorXd::Ones(10);
  const CgResult r = conjugate_gradient(dense_apply(g), d, b);
  CHECK(r.converged);
  CHECK(r.iterations == 1);
  CHECK((r.x - d.cwiseInverse()).norm() <= 1e-14);  // one division per entry
}

TEST_CASE("conjugate gradient returns zero for a zero right-hand side", "[cg]") {
  const Eigen::MatrixXd g = Eigen::MatrixXd::Identity(4, 4);
  const CgResult r = conjugate_gradient(dense_apply(g), g.diagonal(), Eigen::VectorXd::Zero(4));
  CHECK(r.converged);
  CHECK(r.iterations == 0);
  CHECK(r.x == Eigen::VectorXd::Zero(4));
}

TEST_CASE("conjugate gradient reports the iteration limit", "[cg]") {
  std::mt19937 gen(22);
  const Eigen::MatrixXd g = random_spd(40, gen);
  const CgResult r = conjugate_gradient(dense_apply(g), g.diagonal(), Eigen::VectorXd::Ones(40),
                                        {.tolerance = 1e-14, .max_iterations = 2});
  CHECK_FALSE(r.converged);
  CHECK(r.iterations == 2);
  CHECK(r.relative_residual > 1e-14);
}

TEST_CASE("conjugate gradient does not converge on a singular inconsistent system", "[cg]") {
  // G = 1 1^T + v v^T with v = (1, -1, 0) has null space (1, 1, -2), which b = (1, 2, 3) meets.
  const Eigen::Vector3d v(1, -1, 0);
  const Eigen::MatrixXd g = Eigen::MatrixXd::Ones(3, 3) + v * v.transpose();
  const CgResult r = conjugate_gradient(dense_apply(g), g.diagonal(), Eigen::Vector3d(1, 2, 3), {});
  CHECK_FALSE(r.converged);
}

TEST_CASE("conjugate gradient rejects bad arguments", "[cg]") {
  const Eigen::MatrixXd g = Eigen::MatrixXd::Identity(3, 3);
  const Eigen::VectorXd b = Eigen::VectorXd::Ones(3);
  CHECK_THROWS_WITH(conjugate_gradient(dense_apply(g), Eigen::VectorXd::Ones(2), b),
                    "diagonal has 2 entries but b has 3.");
  CHECK_THROWS_WITH(conjugate_gradient(dense_apply(g), Eigen::Vector3d(1, 0, 1), b),
                    "diagonal entries must be positive, but diagonal[1] is 0.");
  CHECK_THROWS_WITH(conjugate_gradient(dense_apply(g), g.diagonal(), b, {.tolerance = -1}),
                    "tolerance must be non-negative, but is -1.");
  CHECK_THROWS_WITH(conjugate_gradient(dense_apply(g), g.diagonal(), b, {.max_iterations = -4}),
                    "max_iterations must be non-negative, but is -4.");
  CHECK_THROWS_AS(conjugate_gradient(dense_apply(g), Eigen::VectorXd::Ones(2), b), Error);
}

}  // namespace
}  // namespace residue
