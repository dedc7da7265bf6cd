// LSMR against dense least squares: over/under-determined, square, damped, stop reasons, errors.
#include "residue/solve/lsmr.h"

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <random>

#include "residue/core/error.h"

namespace residue {
namespace {

Eigen::MatrixXd random_matrix(Eigen::Index rows, Eigen::Index cols, std::mt19937& gen) {
  std::normal_distribution<double> normal;
  return Eigen::MatrixXd::NullaryExpr(rows, cols, [&] { return normal(gen); });
}

Eigen::VectorXd random_vector(Eigen::Index size, std::mt19937& gen) {
  return random_matrix(size, 1, gen);
}

/// Tolerances far below the 1e-8 the tests ask for, and room for rounding-induced extra steps.
LsmrOptions tight(Eigen::Index cols) {
  return {.atol = 1e-14, .btol = 1e-14, .conlim = 0, .max_iterations = static_cast<int>(10 * cols)};
}

/// Relative error of x against the reference.
double relative_error(const Eigen::VectorXd& x, const Eigen::VectorXd& reference) {
  return (x - reference).norm() / reference.norm();
}

TEST_CASE("lsmr matches a dense least-squares solve on an overdetermined system", "[lsmr]") {
  std::mt19937 gen(11);
  const Eigen::MatrixXd a = random_matrix(80, 30, gen);
  const Eigen::VectorXd b = random_vector(80, gen);
  const LsmrResult r = lsmr(DenseOperator(a), b, tight(30));
  const Eigen::VectorXd expected = a.colPivHouseholderQr().solve(b);
  // A Gaussian 80 x 30 matrix has condition ~4, so 1e-8 leaves a wide margin.
  CHECK(relative_error(r.x, expected) < 1e-8);
  CHECK(r.stop == LsmrStop::kLeastSquares);
  // The recurrence estimates agree with the directly computed norms.
  const Eigen::VectorXd residual = b - a * r.x;
  CHECK(r.residual_norm == Approx(residual.norm()).epsilon(1e-8));
  CHECK(r.normal_residual <= 1e-10 * a.norm() * residual.norm());
}

TEST_CASE("lsmr norm and condition estimates are bounded by the true values", "[lsmr]") {
  std::mt19937 gen(19);
  const Eigen::MatrixXd a = random_matrix(80, 30, gen);
  LsmrOptions options = tight(30);
  // Stop early, while the Lanczos vectors are still orthogonal to working precision: the
  // estimates come from the bidiagonal B = U^T A V, so ||B||_F <= ||A||_F and
  // cond(B) <= cond(A). Past n steps rounding makes them drift, as in SciPy.
  options.max_iterations = 10;
  const LsmrResult r = lsmr(DenseOperator(a), random_vector(80, gen), options);
  REQUIRE(r.stop == LsmrStop::kIterationLimit);
  CHECK(r.norm_a <= a.norm() * (1 + 1e-12));
  CHECK(r.norm_a > 0.5 * a.norm());  // 10 of 30 steps already hold most of ||A||_F
  const Eigen::VectorXd sigma = Eigen::JacobiSVD<Eigen::MatrixXd>(a).singularValues();
  CHECK(r.condition >= 1);
  CHECK(r.condition <= sigma(0) / sigma(29) * (1 + 1e-12));
}

TEST_CASE("lsmr solves a square system", "[lsmr]") {
  std::mt19937 gen(12);
  const Eigen::MatrixXd a =
      random_matrix(40, 40, gen) + 10 * Eigen::MatrixXd::Identity(40, 40);  // well conditioned
  const Eigen::VectorXd b = random_vector(40, gen);
  const LsmrResult r = lsmr(DenseOperator(a), b, tight(40));
  const Eigen::VectorXd expected = a.colPivHouseholderQr().solve(b);
  CHECK(relative_error(r.x, expected) < 1e-8);  // condition ~2: rounding is ~1e-15
  CHECK(r.stop == LsmrStop::kCompatible);
  CHECK((a * r.x - b).norm() < 1e-10 * b.norm());
}

TEST_CASE("lsmr returns the minimum-norm solution of an underdetermined system", "[lsmr]") {
  std::mt19937 gen(13);
  const Eigen::MatrixXd a = random_matrix(25, 60, gen);
  const Eigen::VectorXd b = random_vector(25, gen);
  const LsmrResult r = lsmr(DenseOperator(a), b, tight(60));
  // The minimum-norm solution is A^T (A A^T)^{-1} b; LSMR from x = 0 stays in range(A^T).
  const Eigen::VectorXd expected = a.transpose() * (a * a.transpose()).ldlt().solve(b);
  CHECK(relative_error(r.x, expected) < 1e-8);  // A A^T has condition ~20: squared is fine
  CHECK(r.stop == LsmrStop::kCompatible);
}

TEST_CASE("lsmr with damping matches the dense ridge solution", "[lsmr]") {
  std::mt19937 gen(14);
  const Eigen::MatrixXd a = random_matrix(50, 20, gen);
  const Eigen::VectorXd b = random_vector(50, gen);
  const double damp = 3.0;
  LsmrOptions options = tight(20);
  options.damp = damp;
  const LsmrResult r = lsmr(DenseOperator(a), b, options);
  const Eigen::MatrixXd normal =
      a.transpose() * a + damp * damp * Eigen::MatrixXd::Identity(20, 20);
  const Eigen::VectorXd expected = normal.ldlt().solve(a.transpose() * b);
  CHECK(relative_error(r.x, expected) < 1e-8);  // damping only improves the conditioning
  // The residual norm includes the damping term: ||[b; 0] - [A; damp I] x||.
  const double residual = std::sqrt((b - a * r.x).squaredNorm() + damp * damp * r.x.squaredNorm());
  CHECK(r.residual_norm == Approx(residual).epsilon(1e-8));
  const Eigen::VectorXd normal_residual = a.transpose() * (b - a * r.x) - damp * damp * r.x;
  CHECK(normal_residual.norm() <= 1e-10 * b.norm() * a.norm());
}

TEST_CASE("lsmr returns zero for a zero right-hand side", "[lsmr]") {
  std::mt19937 gen(15);
  const Eigen::MatrixXd a = random_matrix(10, 6, gen);
  const LsmrResult r = lsmr(DenseOperator(a), Eigen::VectorXd::Zero(10));
  CHECK(r.stop == LsmrStop::kZeroSolution);
  CHECK(r.iterations == 0);
  CHECK(r.x == Eigen::VectorXd::Zero(6));
  CHECK(r.residual_norm == 0);
}

TEST_CASE("lsmr returns zero when b is orthogonal to the range of A", "[lsmr]") {
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(3, 2);
  a(0, 0) = 1;
  a(1, 1) = 2;
  const LsmrResult r = lsmr(DenseOperator(a), Eigen::Vector3d(0, 0, 5));
  CHECK(r.stop == LsmrStop::kZeroSolution);
  CHECK(r.x == Eigen::VectorXd::Zero(2));
  CHECK(r.residual_norm == 5);
}

TEST_CASE("lsmr reports the iteration limit", "[lsmr]") {
  std::mt19937 gen(16);
  const Eigen::MatrixXd a = random_matrix(60, 30, gen);
  const Eigen::VectorXd b = random_vector(60, gen);
  LsmrOptions options = tight(30);
  options.max_iterations = 3;
  const LsmrResult r = lsmr(DenseOperator(a), b, options);
  CHECK(r.stop == LsmrStop::kIterationLimit);
  CHECK(r.iterations == 3);
}

TEST_CASE("lsmr stops when the condition estimate exceeds conlim", "[lsmr]") {
  // Singular values from 1 down to 1e-6: cond(A) = 1e6 is far above conlim = 100.
  std::mt19937 gen(17);
  const Eigen::Index n = 20;
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr_u(random_matrix(n, n, gen));
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr_v(random_matrix(n, n, gen));
  const Eigen::MatrixXd u = qr_u.householderQ();
  const Eigen::MatrixXd v = qr_v.householderQ();
  const Eigen::VectorXd sigma =
      Eigen::VectorXd::LinSpaced(n, 0, -6).unaryExpr([](double e) { return std::pow(10.0, e); });
  const Eigen::MatrixXd a = u * sigma.asDiagonal() * v.transpose();
  LsmrOptions options = tight(n);
  options.conlim = 100;
  const LsmrResult r = lsmr(DenseOperator(a), random_vector(n, gen), options);
  CHECK(r.stop == LsmrStop::kIllConditioned);
  CHECK(r.condition > 100);
}

TEST_CASE("lsmr uses min(rows, cols) iterations by default", "[lsmr]") {
  std::mt19937 gen(18);
  const Eigen::MatrixXd a = random_matrix(30, 8, gen);
  const LsmrResult r =
      lsmr(DenseOperator(a), random_vector(30, gen), {.atol = 0, .btol = 0, .conlim = 0});
  CHECK(r.iterations <= 8);
}

TEST_CASE("lsmr rejects a size mismatch and negative options", "[lsmr]") {
  const Eigen::MatrixXd a = Eigen::MatrixXd::Identity(4, 4);
  const DenseOperator op(a);
  CHECK_THROWS_WITH(lsmr(op, Eigen::VectorXd::Ones(5)), "b has 5 rows but A has 4.");
  const Eigen::VectorXd b = Eigen::VectorXd::Ones(4);
  CHECK_THROWS_WITH(lsmr(op, b, {.damp = -1}), "damp must be non-negative, but is -1.");
  CHECK_THROWS_WITH(lsmr(op, b, {.atol = -0.5}), "atol must be non-negative, but is -0.5.");
  CHECK_THROWS_WITH(lsmr(op, b, {.btol = -2}), "btol must be non-negative, but is -2.");
  CHECK_THROWS_WITH(lsmr(op, b, {.conlim = -3}), "conlim must be non-negative, but is -3.");
  CHECK_THROWS_WITH(lsmr(op, b, {.max_iterations = -1}),
                    "max_iterations must be non-negative, but is -1.");
  CHECK_THROWS_AS(lsmr(op, Eigen::VectorXd::Ones(3)), Error);
}

}  // namespace
}  // namespace residue
