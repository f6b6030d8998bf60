"""The credit-model engine: plain Python over DataFrames and arrays — no Django models here.

Dataset schemas, features, model families, training, evaluation, scoring, the decision policy, reason
codes, the fairness engine, mitigation and the planning of less-discriminatory-alternative searches.
Everything here is testable without a database and gives the same answer wherever it runs; the
Django side (`analytics.services`, `analytics.models`) records what it returns. An import-rule test
keeps Django's ORM and every app's models, services and selectors out of this package.
"""
