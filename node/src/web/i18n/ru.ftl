# Веб-приложение Focal: русский язык (ru). Те же сообщения, что и в
# en.ftl (эталонный файл).

## Frame
skip-to-content = Перейти к содержимому
nav-label = Основная навигация
language = Язык
home = Главная
all-records = Все записи
sign-out = Выйти
reader = читатель
editor = редактор
admin = администратор
back-home = Вернуться на главную страницу

## Signing in
sign-in = Войти
user-name = Имя пользователя
password = Пароль
sign-in-hint = Администратор вашего узла предоставляет вам учётную запись и ссылку для выбора пароля.
sign-in-failed = Неверное имя пользователя или пароль.
sign-in-throttled = Слишком много неудачных попыток. Повторите попытку через { $minutes ->
    [one] { $minutes } минуту
    [few] { $minutes } минуты
    [many] { $minutes } минут
   *[other] { $minutes } минуты
}.
session-ended = Ваш сеанс завершён. Войдите снова, чтобы продолжить.
try-again = На узле произошла ошибка. Повторите попытку чуть позже.
setup = Выберите пароль
setup-intro = Добро пожаловать, { $name }. Выберите пароль, с которым вы будете входить в систему.
new-password = Новый пароль
confirm-password = Введите его ещё раз
password-rule = Не менее { $count ->
    [one] { $count } символа
    [few] { $count } символов
    [many] { $count } символов
   *[other] { $count } символа
}. Хорошо подойдёт фраза, которую вы помните.
setup-submit = Сохранить и войти
setup-invalid = Эта ссылка не работает
setup-invalid-text = Срок действия ссылки истёк, ссылка уже была использована или заменена. Запросите новую ссылку у администратора вашего узла.
password-too-short = Пароль должен содержать не менее { $min ->
    [one] { $min } символа
    [few] { $min } символов
    [many] { $min } символов
   *[other] { $min } символа
}.
password-too-long = Пароль слишком длинный.
password-is-name = Пароль не может совпадать с вашим именем пользователя.
password-mismatch = Пароли не совпадают.

## Errors
not-found = Не найдено
not-found-text = На этом узле нет такой страницы или записи.
forbidden = Доступ запрещён
forbidden-text = Для этой страницы требуется роль «{ $role ->
    [reader] { reader }
    [editor] { editor }
    [admin] { admin }
   *[other] { $role }
}», которой нет у вашей учётной записи.
csrf = Срок действия формы истёк
csrf-text = Форма была отправлена не с этой страницы или устарела. Вернитесь назад, перезагрузите страницу и отправьте форму ещё раз.
read-failed = Узлу не удалось прочитать свои данные
read-failed-text = База данных узла не ответила. Повторите попытку чуть позже; если ошибка повторяется, сообщите об этом оператору узла.
bad-request = Невозможно отобразить
bad-request-text = Запрос недействителен.
bad-cursor-text = Ссылка на страницу больше не действительна. Начните снова с первой страницы.

## Home
home-heading = Узел { $name }
home-mine = Наши записи
home-recent = Недавно изменённые записи в сети
home-peers = Другие узлы
nothing-yet = Пока ничего нет.
not-in-network = Этот узел пока не входит в сеть.
no-peers = Связь с другими узлами ещё не устанавливалась.
connected = подключён
not-connected = не подключён

## Records
search = Поиск
filter = Отфильтровать
records-count = { $count ->
    [one] { $count } запись
    [few] { $count } записи
    [many] { $count } записей
   *[other] { $count } записи
}
nothing-found = Нет подходящих записей.
next-page = Следующая страница
deleted = удалена
history = История
history-caption = Все подписанные изменения, начиная с последних
read-only-other = запись другого члена: только чтение
original = оригинал
translated-from = перевод (оригинал: { $name })
languages-count = { $count ->
    [one] { $count } язык
    [few] Все { $count } языка
    [many] Все { $count } языков
   *[other] Все { $count } языка
}
yes = да
no = нет

## Columns
col-title = Название
col-type = Тип
col-member = Член
col-updated = Обновлено
col-created = Создано
col-connection = Соединение
col-last-received = Последнее получение
col-last-error = Последняя ошибка
col-when = Дата
col-action = Действие
col-signer = Подписано ключом
col-fields = Поля
col-change = Хеш изменения
col-region = Регион
col-name = Имя
col-designation = Назначение
col-institution = Учреждение
col-languages = Языки
col-email = Электронная почта
col-phone = Телефон
col-standing = Статус
col-state = План
col-plan = Основной план
col-period = Период
col-lead-agency = Ведущее ведомство
col-budget = Бюджет
col-theme = Тема

## Record types
type-member = Профили членов
type-focal-point = Координаторы
type-nap = Национальные планы действий
type-practice = Практики
type-funding = Обязательства по финансированию
type-partnership = Партнёрства
type-meeting = Совещания
type-registration = Регистрации
type-statement = Заявления
type-decision = Решения
type-follow-up = Последующие меры
type-focal-point-contact = Контактные данные

## Values
visibility-network = вся сеть
visibility-secretariat = член и секретариат
visibility-local = только этот узел
standing-active = активен
standing-suspended = приостановлен
standing-removed = исключён
action-create = создание
action-update = изменение
action-delete = удаление

## Views
view-directory = Справочник
view-naps = Мониторинг НПД
view-freshness = По состоянию на { $when }; последняя запись получена: { $name }
download-csv = Скачать в формате CSV
contact-withheld = (хранятся у члена и секретариата)
summary-focal-points = Координаторы
summary-members = Члены
summary-allocated = Действующие, с выделенным бюджетом
nap-state-in-force = Действует
nap-state-adopted = Принят, ещё не вступил в силу
nap-state-drafting = Разрабатывается
nap-state-expired = Срок действия истёк
nap-state-none = Нет плана

## Forms
new-record = Новая запись: { $name }
new-heading = Новая запись: { $type }
edit-heading = Изменить «{ $name }»
edit = Изменить
delete = Удалить
delete-heading = Удалить «{ $name }»?
delete-text = Запись помечается как удалённая на всех узлах сети. Её история, в которой подписано каждое изменение, сохраняется и остаётся доступной для чтения.
save = Сохранить
cancel = Отмена
required = обязательно
visibility = Кто может читать
form-hint = Поля с пометкой «обязательно» должны быть заполнены. Многоязычный текст: введите его на одном или нескольких языках и отметьте как оригинал тот язык, на котором он был написан.
form-has-errors = Запись не сохранена. Исправьте следующее:
one-per-line = По одному значению в строке.
as-json = В формате JSON.
original-language = оригинал
read-only = Только чтение
read-only-text = Изменять запись может только член, которому она принадлежит; этот узел ведёт записи своего члена.
write-failed = Не сохранено
col-field = Поле
col-old = До
col-new = После

## Membership administration
admin-members = Членский состав
admin-intro = Список членов сети, который ведёт этот узел (узел секретариата). Каждое изменение подписывается ключом секретариата и доходит до всех узлов.
admin-keys = Ключи узлов
admin-endpoints = Конечные точки
admin-endpoints-of = Конечные точки: { $name }
admin-set-endpoints = Задать конечные точки
admin-actions = Изменения
admin-suspend = Приостановить
admin-readmit = Восстановить
admin-remove = Исключить
admin-revoke = Отозвать этот ключ
admin-add = Добавить члена
admin-join-request = Запрос члена на присоединение (вывод команды `focal-node join-request`)
admin-join-hint = JSON с полями member, node_key и endpoint.
admin-handover = Подтвердить передачу ключа
admin-handover-label = Передача ключа (в шестнадцатеричном виде, из вывода `focal-node key rotate`)
admin-review = Проверить изменение
admin-confirm = Подтверждение изменения
admin-will = Если вы подтвердите, произойдёт следующее:
admin-do-it = Подтвердить и подписать
admin-refused = Это изменение невозможно внести:
admin-not-secretariat = Членским составом управляет секретариат
admin-not-secretariat-text = Изменять список членов сети может только узел секретариата. На этом узле список можно просмотреть в справочнике.

## More views
view-practices = Практики
view-funding = Финансирование
view-follow-up = Выполнение решений
view-meetings = Совещания
meetings-count = { $count ->
    [one] { $count } совещание
    [few] { $count } совещания
    [many] { $count } совещаний
   *[other] { $count } совещания
}
meeting-record = Запись о совещании
filter-any = Все
filter-kind = Тип члена
filter-period-hint = Год (2025) или период (2025-01-01/2025-06-30, 2024/2026); любую из границ можно оставить открытой.
filter-as-of = На дату
filter-as-of-hint = День, на который определяется просрочка решений (если поле пустое — сегодня).
download-csv-totals = Скачать итоги в формате CSV
none-listed = Нет.
by-theme = По темам
by-region = По регионам
by-donor = По донорам
by-recipient = По получателям
summary-practices = Практики
summary-commitments = Обязательства
summary-decisions = Решения
summary-open = Ещё не выполнены
overdue = Просрочено
summary-registered = Зарегистрированные члены
summary-delegates = Делегаты
summary-ministers = Выступающие министры
summary-statements = Заявления
funding-totals = Итоги по валютам
funding-no-amounts = Суммы не указаны.
funding-all = Все обязательства
funding-gaps = Пробелы
unfunded-themes = Темы, не охваченные ни одним обязательством
unfunded-recipients = Члены, не получающие финансирования ни по одному обязательству
unfunded-members = Члены, которые не получают и не предоставляют помощь
not-registered = Незарегистрированные члены
record-registration = Регистрация
record-statement = Заявление
update-link = отчёт
col-practice-kind = Вид
col-themes = Темы
col-recorded = Дата записи
col-recorded-by = Кем записано
col-id = Идентификатор записи
col-record = Запись
col-donor = Донор
col-recipient = Получатель
col-recipient-country = Страна получателя
col-amount = Сумма
col-amounts = Суммы
col-currency = Валюта
col-commitments-with-amount = Обязательства с суммой в этой валюте
col-assistance = Вид помощи
col-channel = Канал
col-period-start = Начало периода
col-period-end = Конец периода
col-group = Группа
col-party = Донор, получатель или тема
col-decision = Решение
col-due = Срок
col-status = Состояние
col-responsible = Ответственный
col-meeting = Совещание
col-meeting-id = Идентификатор совещания
col-meeting-kind = Вид совещания
col-updates = Последний отчёт каждого члена
col-not-reported = Не представили отчёт
col-delegates = Делегаты
col-minister-speaking = Выступает министр
col-speaker = Выступающий
col-language = Язык
col-text = Текст
col-link = Ссылка
col-dates = Даты
col-city = Город
theme-gender-analysis = Гендерный анализ
theme-participation-security-sector = Участие женщин в работе сектора безопасности
theme-participation-peace-processes = Участие женщин в мирных процессах и посредничестве
theme-senior-leadership = Женщины на руководящих должностях
theme-removing-barriers = Устранение препятствий для расширения прав и возможностей женщин
theme-violent-extremism = Предупреждение насильственного экстремизма и борьба с ним
theme-climate-change = Изменение климата и безопасность
theme-crsv-justice = Сексуальное насилие в условиях конфликта и доступ к правосудию
theme-nap-design-monitoring-financing = Разработка, мониторинг и финансирование национальных планов действий
theme-disarmament-small-arms = Разоружение, контроль над вооружениями и стрелковое оружие
theme-early-warning-preventive-diplomacy = Раннее предупреждение и превентивная дипломатия
theme-peacekeeping = Поддержание мира и миротворческие операции
theme-civil-society-partnerships = Партнёрство с гражданским обществом и локализация
theme-capacity-building = Подготовка кадров и наращивание потенциала
region-africa = Группа африканских государств
region-asia-pacific = Группа азиатско-тихоокеанских государств
region-eastern-europe = Группа восточноевропейских государств
region-latin-america-caribbean = Группа государств Латинской Америки и Карибского бассейна
region-western-europe-others = Группа западноевропейских и других государств
region-cross-regional = Межрегиональные
region-unknown = Регион не указан
member-kind-state = Государство
member-kind-regional-organization = Региональная организация
practice-kind-best-practice = Передовая практика
practice-kind-lesson-learned = Извлечённый урок
assistance-financial = Финансовая
assistance-technical = Техническая
assistance-training = Обучение
channel-bilateral = Двусторонний
channel-pooled-fund = Объединённый фонд
channel-direct-to-civil-society = Напрямую гражданскому обществу
decision-status-open = Открыто
decision-status-in-progress = Выполняется
decision-status-done = Выполнено
decision-status-dropped = Снято
progress-exceeded = Перевыполнено
progress-met = Выполнено
progress-limited = Ограниченный прогресс
progress-none = Прогресса нет
responsible-secretariat = Секретариат
responsible-troika = Тройка
responsible-all-members = Все члены
meeting-kind-capital-annual = Ежегодное совещание на уровне столиц
meeting-kind-new-york-follow-up = Совещание по последующей деятельности в Нью-Йорке
meeting-kind-ministerial-launch = Запуск на уровне министров
meeting-kind-virtual = Виртуальное совещание
meeting-kind-working-group = Совещание рабочей группы
history-range = Изменения { $first }–{ $last } из { $count }
history-pages = Страницы истории
history-newer = Более новые изменения
history-older = Более старые изменения
changed-since = С тех пор как вы открыли эту форму, запись изменил кто-то другой. Ваши изменения ниже; там, где они пересекаются с чужими, это указано у поля. Проверьте их и сохраните снова.
changed-since-field = Тем временем изменено другим пользователем; сейчас: { $value }
busy = Занято
downloads-busy-text = На этом узле готовятся другие загрузки. Повторите попытку через минуту.
