"""The Survei Kepuasan Masyarakat (PermenPANRB 14/2017): the index on a worked example and
the quality categories at their edges; one anonymous response per completed file, invited by
e-mail and on the file's page, counted in the report and the public figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from test_sla_report import CODE, SOP, wib
from webclient import Browser

from portal.modules.agencies.models import Agency
from portal.modules.applications import operations
from portal.modules.applications.models import Task
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import _holder
from portal.modules.feedback import survey
from portal.modules.feedback.models import SurveyInvitation, SurveyResponse
from portal.modules.sla import report as sla
from portal.modules.sops.operations import import_sop

# Four responses whose element averages are 3.25, 3.00, 2.75, 4.00, 3.50, 3.25, 3.50, 2.50
# and 3.00: their mean is 28.75 / 9 = 3.19444..., times 25 = 79.861..., so 79.86 (B, baik).
WORKED = [
    (4, 3, 3, 4, 4, 4, 4, 3, 3),
    (3, 3, 3, 4, 4, 3, 4, 3, 3),
    (3, 3, 3, 4, 3, 3, 3, 2, 3),
    (3, 3, 2, 4, 3, 3, 3, 2, 3),
]
PASSWORD = "x" * 12


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def test_index_of_a_worked_example():
    index = survey.survey_index(WORKED)
    assert index.responses == 4
    assert index.element_means == (3.25, 3.0, 2.75, 4.0, 3.5, 3.25, 3.5, 2.5, 3.0)
    assert index.index == Decimal("79.86")
    assert index.grade == "B" and str(index.label) == "baik"
    assert survey.survey_index([]) is None
    assert survey.survey_index([(4,) * 9]).index == Decimal("100.00")
    assert survey.survey_index([(1,) * 9]).index == Decimal("25.00")


@pytest.mark.parametrize(("value", "grade"), [
    ("100", "A"), ("88.31", "A"), ("88.30", "B"), ("76.61", "B"), ("76.60", "C"),
    ("65.00", "C"), ("64.99", "D"), ("25.00", "D"),
    # Rounded to two decimals first, as the regulation writes the index.
    ("88.305", "A"), ("88.304", "B"), ("76.604", "C"),
])
def test_categories_at_their_edges(value, grade):
    assert survey.category(Decimal(value))[0] == grade


def _completed_file(applicant, start=None):
    """A file of the test SOP of test_sla_report, checked and approved."""
    start = start or wib(2, 8)
    bangka = Agency.get(Agency.code == "dinkes-bangka")
    application = operations.submit_application(applicant, CODE, {"full_name": "Uji"}, {},
                                                None, now=start)
    for key, outcome in (("sdmk_admin", "complete"), ("kasi_sdmk", "approved")):
        start += dt.timedelta(minutes=20)
        operations.decide(Task.open_for(application).id, _holder(bangka, key), outcome,
                          now=start)
    return application


@pytest.fixture
def completed(demo, make_applicant):
    import_sop(SOP, "uji-sla.yaml")
    applicant = make_applicant()
    return applicant, _completed_file(applicant, dt.datetime.now(dt.UTC)
                                      - dt.timedelta(days=2))


def _answers(scores, comment=""):
    return {**{f"u{i + 1}": str(s) for i, s in enumerate(scores)}, "comment": comment}


def test_applicant_is_invited_by_email_and_on_the_files_page(completed, app, smtp, runner):
    applicant, application = completed
    result = runner.invoke(args=["feedback", "invite"])
    assert result.exit_code == 0 and "survey invitations: 1" in result.output
    assert ("survey_invitation", applicant.email) in smtp.received()
    message = next(m for _to, m in smtp.messages if m["X-Absah-Event"] == "survey_invitation")
    assert f"/applications/{application.id}/survey" in smtp.text_of(message)
    assert runner.invoke(args=["feedback", "invite"]).output.strip() == "survey invitations: 0"
    assert SurveyInvitation.select().count() == 1
    browser = Browser(app)
    browser.login(applicant.email, PASSWORD)
    page = browser.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'id="survey-invitation"' in page and "isi Survei Kepuasan Masyarakat" in page


def test_one_anonymous_response_per_file(completed, app):
    applicant, application = completed
    browser = Browser(app)
    browser.login(applicant.email, PASSWORD)
    form = browser.get(f"/applications/{application.id}/survey")
    assert form.status_code == 200 and "Sarana dan prasarana" in form.get_data(as_text=True)
    missing = browser.post(f"/applications/{application.id}/survey", {"u1": "4", "u2": "9"})
    assert missing.status_code == 422
    assert "Pilih nilai 1 sampai 4 untuk Biaya/tarif" in missing.get_data(as_text=True)
    done = browser.post(f"/applications/{application.id}/survey",
                        _answers(WORKED[0], "Petugas ramah, antrean lama."))
    assert done.status_code == 303
    response = SurveyResponse.get()
    assert response.scores() == WORKED[0]
    again = browser.post(f"/applications/{application.id}/survey", _answers(WORKED[1]),
                         follow_redirects=True)
    assert "sudah diisi" in again.get_data(as_text=True)
    assert SurveyResponse.select().count() == 1
    event = AuditEvent.get(AuditEvent.action == "survey.answered")
    assert event.data == {} and event.object_id == str(application.id)  # no answers in it
    page = browser.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "survei kepuasan untuk berkas ini sudah diisi" in page


def test_only_the_applicant_of_a_completed_file_answers(completed, app, make_applicant):
    applicant, application = completed
    other = Browser(app)
    other.login(make_applicant().email, PASSWORD)
    assert other.get(f"/applications/{application.id}/survey").status_code == 404
    assert other.post(f"/applications/{application.id}/survey",
                      _answers(WORKED[0])).status_code == 404
    open_file = operations.submit_application(applicant, CODE, {"full_name": "Uji"}, {}, None)
    owner = Browser(app)
    owner.login(applicant.email, PASSWORD)
    refused = owner.post(f"/applications/{open_file.id}/survey", _answers(WORKED[0]),
                         follow_redirects=True)
    assert "Survei dibuka setelah berkas selesai" in refused.get_data(as_text=True)
    assert SurveyResponse.select().count() == 0


def test_the_index_reaches_the_report_and_the_public_figures_without_names(
        demo, make_applicant, app):
    import_sop(SOP, "uji-sla.yaml")
    now = dt.datetime.now(dt.UTC)
    people = []
    for scores in WORKED + [WORKED[0]]:  # five responses: the public sees the index
        applicant = make_applicant(name="Responden Rahasia")
        application = _completed_file(applicant, now - dt.timedelta(days=3))
        survey.submit_response(applicant, application.id, _answers(scores),
                               "Saran uji" if scores is WORKED[1] else "")
        people.append(application.registration_number)
    expected = survey.survey_index(WORKED + [WORKED[0]])
    bangka = Agency.get(Agency.code == "dinkes-bangka")
    report = sla.sla_report(bangka, sla.default_period(bangka.today()), CODE)
    found = next(s for s in report.sops if s.code == CODE).survey
    assert found == expected and found.responses == 5
    assert report.comments == ["Saran uji"]
    public = sla.public_figures([CODE])[0]
    assert public.survey.index == expected.index
    admin = Browser(app)
    admin.login("admin@dinkes-bangka.absah.test", "demo-test-password")
    html = admin.get(f"/admin/sla?sop={CODE}").get_data(as_text=True)
    assert str(expected.index) in html and "Saran uji" in html
    assert "Responden Rahasia" not in html
    assert not any(number in html for number in people)
    statistik = Browser(app).get("/statistik").get_data(as_text=True)
    assert str(expected.index) in statistik and "Responden Rahasia" not in statistik


def test_index_sums_in_the_database_match_the_pure_function(completed):
    applicant, application = completed
    survey.submit_response(applicant, application.id, _answers(WORKED[2]))
    found = survey.index_of(sop_code=CODE)[CODE]
    assert found == survey.survey_index([WORKED[2]])
    assert SurveyResponse.get().agency_id == Agency.get(Agency.code == "dinkes-bangka").id
