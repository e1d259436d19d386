# تطبيق Focal على الويب: العربية (ar). الرسائل نفسها الواردة في en.ftl،
# وهو الملف المرجعي.

## Frame
skip-to-content = الانتقال إلى المحتوى
nav-label = التنقل الرئيسي
language = اللغة
home = الصفحة الرئيسية
all-records = جميع السجلات
sign-out = تسجيل الخروج
reader = قارئ
editor = محرر
admin = مسؤول
back-home = العودة إلى الصفحة الرئيسية

## Signing in
sign-in = تسجيل الدخول
user-name = اسم المستخدم
password = كلمة المرور
sign-in-hint = يزوّدك مسؤول العقدة التي تتبعها بحساب وبرابط لاختيار كلمة المرور.
sign-in-failed = اسم المستخدم أو كلمة المرور غير صحيحة.
sign-in-throttled = عدد المحاولات الفاشلة كبير جدًا. يُرجى المحاولة مرة أخرى بعد { $minutes ->
    [zero] { $minutes } دقيقة
    [one] دقيقة واحدة
    [two] دقيقتين
    [few] { $minutes } دقائق
    [many] { $minutes } دقيقة
   *[other] { $minutes } دقيقة
}.
session-ended = انتهت جلستك. يُرجى تسجيل الدخول مرة أخرى للمتابعة.
try-again = حدث خطأ في العقدة. يُرجى المحاولة مرة أخرى بعد قليل.
setup = اختيار كلمة المرور
setup-intro = مرحبًا، { $name }. يُرجى اختيار كلمة المرور التي ستستخدمها لتسجيل الدخول.
new-password = كلمة المرور الجديدة
confirm-password = أعد إدخالها
password-rule = { $count ->
    [zero] { $count } حرف
    [one] حرف واحد
    [two] حرفان
    [few] { $count } أحرف
    [many] { $count } حرفًا
   *[other] { $count } حرف
} على الأقل. ويُعدّ اختيار جملة تتذكرها خيارًا جيدًا.
setup-submit = الحفظ وتسجيل الدخول
setup-invalid = هذا الرابط لا يعمل
setup-invalid-text = انتهت صلاحية الرابط، أو سبق استخدامه، أو استُبدل برابط آخر. يُرجى طلب رابط جديد من مسؤول العقدة التي تتبعها.
password-too-short = يجب أن تتألف كلمة المرور من { $min ->
    [zero] { $min } حرف
    [one] حرف واحد
    [two] حرفين
    [few] { $min } أحرف
    [many] { $min } حرفًا
   *[other] { $min } حرف
} على الأقل.
password-too-long = كلمة المرور طويلة جدًا.
password-is-name = لا يجوز أن تكون كلمة المرور هي اسم المستخدم الخاص بك.
password-mismatch = كلمتا المرور غير متطابقتين.

## Errors
not-found = غير موجود
not-found-text = لا توجد صفحة أو سجل من هذا القبيل في هذه العقدة.
forbidden = غير مسموح
forbidden-text = تتطلب هذه الصفحة دور «{ $role ->
    [reader] { reader }
    [editor] { editor }
    [admin] { admin }
   *[other] { $role }
}»، وهو دور لا يتمتع به حسابك.
csrf = انتهت صلاحية النموذج
csrf-text = لم يُرسَل النموذج من هذه الصفحة، أو أنه قديم جدًا. يُرجى الرجوع وإعادة تحميل الصفحة ثم إرسال النموذج مرة أخرى.
read-failed = تعذّر على العقدة قراءة بياناتها
read-failed-text = لم تستجب قاعدة بيانات العقدة. يُرجى المحاولة مرة أخرى بعد قليل؛ وإذا تكرر ذلك، يُرجى إبلاغ مشغّل العقدة.
bad-request = تعذّر العرض
bad-request-text = الطلب غير صالح.
bad-cursor-text = لم يعد رابط الصفحة صالحًا. يُرجى البدء من جديد من الصفحة الأولى.

## Home
home-heading = عقدة { $name }
home-mine = سجلاتنا
home-recent = ما عُدِّل مؤخرًا في أنحاء الشبكة
home-peers = العقد الأخرى
nothing-yet = لا شيء حتى الآن.
not-in-network = هذه العقدة ليست جزءًا من شبكة بعد.
no-peers = لم يُتّصَل بأي عقدة أخرى بعد.
connected = متصلة
not-connected = غير متصلة

## Records
search = بحث
filter = تصفية
records-count = { $count ->
    [zero] لا توجد سجلات
    [one] سجل واحد
    [two] سجلان
    [few] { $count } سجلات
    [many] { $count } سجلًا
   *[other] { $count } سجل
}
nothing-found = لا توجد سجلات مطابقة.
next-page = الصفحة التالية
deleted = محذوف
history = سجل التغييرات
history-caption = جميع التغييرات الموقّعة، بدءًا بالأحدث
read-only-other = سجل عضو آخر: للقراءة فقط
original = النص الأصلي
translated-from = ترجمة (الأصل: { $name })
languages-count = { $count ->
    [zero] جميع اللغات ({ $count })
    [one] لغة واحدة
    [two] اللغتان كلتاهما
    [few] جميع اللغات ({ $count })
    [many] جميع اللغات ({ $count })
   *[other] جميع اللغات ({ $count })
}
yes = نعم
no = لا

## Columns
col-title = العنوان
col-type = النوع
col-member = العضو
col-updated = آخر تحديث
col-created = تاريخ الإنشاء
col-connection = الاتصال
col-last-received = آخر استلام
col-last-error = آخر خطأ
col-when = التاريخ
col-action = الإجراء
col-signer = موقّع بالمفتاح
col-fields = الحقول
col-change = بصمة التغيير
col-region = المنطقة
col-name = الاسم
col-designation = صفة التعيين
col-institution = المؤسسة
col-languages = اللغات
col-email = البريد الإلكتروني
col-phone = الهاتف
col-standing = حالة العضوية
col-state = الخطة
col-plan = الخطة الرئيسية
col-period = الفترة
col-lead-agency = الجهة الرائدة
col-budget = الميزانية
col-theme = المحور

## Record types
type-member = ملفات تعريف الأعضاء
type-focal-point = جهات التنسيق
type-nap = خطط العمل الوطنية
type-practice = الممارسات
type-funding = التزامات التمويل
type-partnership = الشراكات
type-meeting = الاجتماعات
type-registration = التسجيلات
type-statement = البيانات
type-decision = المقررات
type-follow-up = المتابعة
type-focal-point-contact = بيانات الاتصال

## Values
visibility-network = الشبكة بأكملها
visibility-secretariat = العضو والأمانة
visibility-local = هذه العقدة فقط
standing-active = نشط
standing-suspended = معلّق
standing-removed = مستبعد
action-create = إنشاء
action-update = تعديل
action-delete = حذف

## Views
view-directory = الدليل
view-naps = متابعة خطط العمل الوطنية
view-freshness = البيانات حتى { $when }؛ أحدث إدخال ورد: { $name }
download-csv = تنزيل بصيغة CSV
contact-withheld = (محفوظة لدى العضو والأمانة)
summary-focal-points = جهات التنسيق
summary-members = الأعضاء
summary-allocated = سارية ولها ميزانية مخصصة
nap-state-in-force = سارية
nap-state-adopted = معتمدة، لم تدخل حيز النفاذ بعد
nap-state-drafting = قيد الصياغة
nap-state-expired = منتهية
nap-state-none = لا توجد خطة

## Forms
new-record = سجل جديد: { $name }
new-heading = سجل جديد: { $type }
edit-heading = تعديل «{ $name }»
edit = تعديل
delete = حذف
delete-heading = هل تريد حذف «{ $name }»؟
delete-text = يُوسَم السجل بأنه محذوف في جميع عقد الشبكة. ويُحتفَظ بسجل تغييراته، الموقّع تغييرًا تغييرًا، ويظل متاحًا للقراءة.
save = حفظ
cancel = إلغاء
required = إلزامي
visibility = من يحق له الاطلاع عليه
form-hint = يجب ملء الحقول الموسومة بأنها إلزامية. النص المتعدد اللغات: اكتبه بلغة واحدة أو أكثر، وحدِّد اللغة التي كُتب بها بوصفها النص الأصلي.
form-has-errors = لم يُحفظ السجل. يُرجى تصحيح ما يلي:
one-per-line = عنصر واحد في كل سطر.
as-json = بصيغة JSON.
original-language = الأصل
read-only = للقراءة فقط
read-only-text = لا يغيّر السجلَّ إلا العضو الذي يملكه؛ وتكتب هذه العقدة سجلات العضو التابعة له.
write-failed = لم يُحفظ
col-field = الحقل
col-old = قبل
col-new = بعد

## Membership administration
admin-members = العضوية
admin-intro = قائمة أعضاء الشبكة، وتحتفظ بها هذه العقدة (عقدة الأمانة). ويُوقَّع كل تغيير بمفتاح الأمانة ويصل إلى جميع العقد.
admin-keys = مفاتيح العقد
admin-endpoints = نقاط النهاية
admin-endpoints-of = نقاط النهاية الخاصة بـ { $name }
admin-set-endpoints = تحديد نقاط النهاية
admin-actions = التغييرات
admin-suspend = تعليق
admin-readmit = إعادة القبول
admin-remove = استبعاد
admin-revoke = إبطال هذا المفتاح
admin-add = إضافة عضو
admin-join-request = طلب انضمام العضو (ما أظهره الأمر `focal-node join-request`)
admin-join-hint = JSON يتضمن الحقول member و node_key و endpoint.
admin-handover = تأكيد تسليم مفتاح
admin-handover-label = بيانات التسليم (بالنظام الست عشري، الناتجة عن `focal-node key rotate`)
admin-review = مراجعة التغيير
admin-confirm = تأكيد التغيير
admin-will = إذا أكدت، فسيحدث ما يلي:
admin-do-it = التأكيد والتوقيع
admin-refused = لا يمكن إجراء هذا التغيير:
admin-not-secretariat = تتولى الأمانة إدارة العضوية
admin-not-secretariat-text = لا تغيّر قائمةَ أعضاء الشبكة إلا عقدةُ الأمانة. ويمكن في هذه العقدة الاطلاع على القائمة في الدليل.

## More views
view-practices = الممارسات
view-funding = التمويل
view-follow-up = متابعة المقررات
view-meetings = الاجتماعات
meetings-count = { $count ->
    [zero] لا توجد اجتماعات
    [one] اجتماع واحد
    [two] اجتماعان
    [few] { $count } اجتماعات
    [many] { $count } اجتماعًا
   *[other] { $count } اجتماع
}
meeting-record = سجل الاجتماع
filter-any = الكل
filter-kind = فئة العضو
filter-period-hint = سنة (2025) أو فترة (2025-01-01/2025-06-30، 2024/2026)؛ ويجوز ترك أي من الطرفين مفتوحًا.
filter-as-of = في تاريخ
filter-as-of-hint = اليوم الذي يُحكم فيه على تأخر المقررات (اليوم الحالي إذا تُرك الحقل فارغًا).
download-csv-totals = تنزيل المجاميع بصيغة CSV
none-listed = لا يوجد.
by-theme = حسب المحور
by-region = حسب المنطقة
by-donor = حسب الجهة المانحة
by-recipient = حسب الجهة المستفيدة
summary-practices = الممارسات
summary-commitments = الالتزامات
summary-decisions = المقررات
summary-open = لم تُنفَّذ بعد
overdue = متأخر
summary-registered = الأعضاء المسجلون
summary-delegates = المندوبون
summary-ministers = الوزراء المتحدثون
summary-statements = البيانات
funding-totals = المجاميع حسب العملة
funding-no-amounts = لم تُسجَّل أي مبالغ.
funding-all = جميع الالتزامات
funding-gaps = الثغرات
unfunded-themes = محاور لا يشملها أي التزام
unfunded-recipients = أعضاء لا يمولهم أي التزام
unfunded-members = أعضاء لا يتلقون تمويلًا ولا يقدمونه
not-registered = الأعضاء غير المسجلين
record-registration = تسجيل
record-statement = بيان
update-link = تقرير المتابعة
col-practice-kind = النوع
col-themes = المحاور
col-recorded = تاريخ التسجيل
col-recorded-by = سجّله
col-id = معرّف السجل
col-record = السجل
col-donor = الجهة المانحة
col-recipient = الجهة المستفيدة
col-recipient-country = بلد الجهة المستفيدة
col-amount = المبلغ
col-amounts = المبالغ
col-currency = العملة
col-commitments-with-amount = الالتزامات ذات المبلغ بهذه العملة
col-assistance = نوع المساعدة
col-channel = القناة
col-period-start = بداية الفترة
col-period-end = نهاية الفترة
col-group = المجموعة
col-party = الجهة المانحة أو المستفيدة أو المحور
col-decision = المقرر
col-due = الموعد المحدد
col-status = الحالة
col-responsible = الجهة المسؤولة
col-meeting = الاجتماع
col-meeting-id = معرّف الاجتماع
col-meeting-kind = نوع الاجتماع
col-updates = آخر تقرير من كل عضو
col-not-reported = لم تقدّم تقارير
col-delegates = المندوبون
col-minister-speaking = يتحدث وزير
col-speaker = المتحدث
col-language = اللغة
col-text = النص
col-link = الرابط
col-dates = التواريخ
col-city = المدينة
theme-gender-analysis = التحليل الجنساني
theme-participation-security-sector = مشاركة المرأة في قطاع الأمن
theme-participation-peace-processes = مشاركة المرأة في عمليات السلام والوساطة
theme-senior-leadership = المرأة في المناصب القيادية العليا
theme-removing-barriers = إزالة العوائق أمام تمكين المرأة
theme-violent-extremism = منع التطرف العنيف ومكافحته
theme-climate-change = تغير المناخ والأمن
theme-crsv-justice = العنف الجنسي المرتبط بالنزاعات والوصول إلى العدالة
theme-nap-design-monitoring-financing = تصميم خطط العمل الوطنية ورصدها وتمويلها
theme-disarmament-small-arms = نزع السلاح وتحديد الأسلحة والأسلحة الصغيرة
theme-early-warning-preventive-diplomacy = الإنذار المبكر والدبلوماسية الوقائية
theme-peacekeeping = حفظ السلام وعمليات السلام
theme-civil-society-partnerships = الشراكات مع المجتمع المدني والتوطين
theme-capacity-building = التدريب وبناء القدرات
region-africa = مجموعة الدول الأفريقية
region-asia-pacific = مجموعة دول آسيا والمحيط الهادئ
region-eastern-europe = مجموعة دول أوروبا الشرقية
region-latin-america-caribbean = مجموعة دول أمريكا اللاتينية ومنطقة البحر الكاريبي
region-western-europe-others = مجموعة دول أوروبا الغربية ودول أخرى
region-cross-regional = متعددة المناطق
region-unknown = المنطقة غير مسجلة
member-kind-state = دولة
member-kind-regional-organization = منظمة إقليمية
practice-kind-best-practice = ممارسة فضلى
practice-kind-lesson-learned = درس مستفاد
assistance-financial = مالية
assistance-technical = تقنية
assistance-training = تدريب
channel-bilateral = ثنائية
channel-pooled-fund = صندوق مشترك
channel-direct-to-civil-society = مباشرة إلى المجتمع المدني
decision-status-open = مفتوح
decision-status-in-progress = قيد التنفيذ
decision-status-done = منفَّذ
decision-status-dropped = متروك
progress-exceeded = تجاوز المستهدف
progress-met = تحقق
progress-limited = تقدم محدود
progress-none = لا تقدم
responsible-secretariat = الأمانة
responsible-troika = الترويكا
responsible-all-members = جميع الأعضاء
meeting-kind-capital-annual = الاجتماع السنوي على مستوى العواصم
meeting-kind-new-york-follow-up = اجتماع المتابعة في نيويورك
meeting-kind-ministerial-launch = إطلاق على المستوى الوزاري
meeting-kind-virtual = اجتماع افتراضي
meeting-kind-working-group = اجتماع فريق عامل
history-range = التغييرات { $first }–{ $last } من { $count }
history-pages = صفحات السجل
history-newer = تغييرات أحدث
history-older = تغييرات أقدم
changed-since = غيّر شخص آخر هذا السجل منذ أن فتحت هذا النموذج. تغييراتك أدناه؛ وحيث تتقاطع مع تغييراته يشير الحقل إلى ذلك. راجعها واحفظ مرة أخرى.
changed-since-field = غيّره شخص آخر في الأثناء؛ قيمته الآن: { $value }
busy = مشغول
downloads-busy-text = يجري إعداد تنزيلات أخرى على هذه العقدة. حاول مرة أخرى بعد دقيقة.
