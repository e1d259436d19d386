# Aplicación web Focal: español (es). Los mismos mensajes que en.ftl, la
# referencia.

## Frame
skip-to-content = Ir al contenido
nav-label = Navegación principal
language = Idioma
home = Inicio
all-records = Todos los registros
sign-out = Cerrar sesión
reader = lector
editor = editor
admin = administrador
back-home = Volver a la página de inicio

## Signing in
sign-in = Iniciar sesión
user-name = Nombre de usuario
password = Contraseña
sign-in-hint = El administrador de su nodo le proporciona una cuenta y un enlace para elegir su contraseña.
sign-in-failed = El nombre de usuario o la contraseña no son correctos.
sign-in-throttled = Demasiados intentos fallidos. Vuelva a intentarlo dentro de { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
}.
session-ended = Su sesión ha finalizado. Vuelva a iniciar sesión para continuar.
try-again = Se ha producido un error en el nodo. Vuelva a intentarlo en unos instantes.
setup = Elija su contraseña
setup-intro = Le damos la bienvenida, { $name }. Elija la contraseña con la que iniciará sesión.
new-password = Nueva contraseña
confirm-password = Vuelva a escribirla
password-rule = Al menos { $count ->
    [one] { $count } carácter
   *[other] { $count } caracteres
}. Una frase que usted recuerde es una buena opción.
setup-submit = Guardar e iniciar sesión
setup-invalid = Este enlace no funciona
setup-invalid-text = El enlace ha caducado, ya se ha utilizado o ha sido sustituido. Solicite uno nuevo al administrador de su nodo.
password-too-short = La contraseña debe tener al menos { $min ->
    [one] { $min } carácter
   *[other] { $min } caracteres
}.
password-too-long = La contraseña es demasiado larga.
password-is-name = La contraseña no puede ser su nombre de usuario.
password-mismatch = Las dos contraseñas no coinciden.

## Errors
not-found = No encontrado
not-found-text = No existe esa página o ese registro en este nodo.
forbidden = Acceso no permitido
forbidden-text = Esta página requiere el rol «{ $role ->
    [reader] { reader }
    [editor] { editor }
    [admin] { admin }
   *[other] { $role }
}», que su cuenta no tiene.
csrf = El formulario ha caducado
csrf-text = El formulario no se envió desde esta página o es demasiado antiguo. Vuelva atrás, recargue la página y envíelo de nuevo.
read-failed = El nodo no pudo leer sus datos
read-failed-text = La base de datos del nodo no respondió. Vuelva a intentarlo en unos instantes; si el problema persiste, informe al operador del nodo.
bad-request = No se puede mostrar
bad-request-text = La solicitud no es válida.
bad-cursor-text = El enlace de la página ya no es válido. Vuelva a empezar desde la primera página.

## Home
home-heading = Nodo { $name }
home-mine = Nuestros registros
home-recent = Modificados recientemente en la red
home-peers = Otros nodos
nothing-yet = Nada por ahora.
not-in-network = Este nodo aún no forma parte de una red.
no-peers = Todavía no se ha contactado con ningún otro nodo.
connected = conectado
not-connected = no conectado

## Records
search = Buscar
filter = Filtrar
records-count = { $count ->
    [one] Un registro
   *[other] { $count } registros
}
nothing-found = Ningún registro coincide.
next-page = Página siguiente
deleted = eliminado
history = Historial
history-caption = Todos los cambios firmados, del más reciente al más antiguo
read-only-other = registro de otro miembro: solo lectura
original = original
translated-from = traducción (original: { $name })
languages-count = { $count ->
    [one] Un idioma
   *[other] Los { $count } idiomas
}
yes = sí
no = no

## Columns
col-title = Título
col-type = Tipo
col-member = Miembro
col-updated = Actualizado
col-created = Creado
col-connection = Conexión
col-last-received = Última recepción
col-last-error = Último error
col-when = Fecha
col-action = Operación
col-signer = Firmado con la clave
col-fields = Campos
col-change = Hash del cambio
col-region = Región
col-name = Nombre
col-designation = Designación
col-institution = Institución
col-languages = Idiomas
col-email = Correo electrónico
col-phone = Teléfono
col-standing = Situación
col-state = Plan
col-plan = Plan principal
col-period = Período
col-lead-agency = Organismo principal
col-budget = Presupuesto
col-theme = Tema

## Record types
type-member = Perfiles de los miembros
type-focal-point = Puntos focales
type-nap = Planes de acción nacionales
type-practice = Prácticas
type-funding = Compromisos de financiación
type-partnership = Alianzas
type-meeting = Reuniones
type-registration = Inscripciones
type-statement = Declaraciones
type-decision = Decisiones
type-follow-up = Seguimiento
type-focal-point-contact = Datos de contacto

## Values
visibility-network = toda la red
visibility-secretariat = miembro y secretaría
visibility-local = solo este nodo
standing-active = activo
standing-suspended = suspendido
standing-removed = retirado
action-create = creación
action-update = edición
action-delete = eliminación

## Views
view-directory = Directorio
view-naps = Seguimiento de los PAN
view-freshness = Datos al { $when }; última entrada recibida: { $name }
download-csv = Descargar en formato CSV
contact-withheld = (en poder del miembro y de la secretaría)
summary-focal-points = Puntos focales
summary-members = Miembros
summary-allocated = En vigor con presupuesto asignado
nap-state-in-force = En vigor
nap-state-adopted = Aprobado, aún no en vigor
nap-state-drafting = En elaboración
nap-state-expired = Vencido
nap-state-none = Sin plan

## Forms
new-record = Nuevo registro: { $name }
new-heading = Nuevo registro: { $type }
edit-heading = Editar «{ $name }»
edit = Editar
delete = Eliminar
delete-heading = ¿Eliminar «{ $name }»?
delete-text = El registro se marca como eliminado en todos los nodos de la red. Su historial, firmado cambio por cambio, se conserva y sigue pudiendo consultarse.
save = Guardar
cancel = Cancelar
required = obligatorio
visibility = Quién puede leerlo
form-hint = Los campos marcados como obligatorios deben completarse. Texto multilingüe: escríbalo en uno o varios idiomas y marque como original aquel en el que se redactó.
form-has-errors = El registro no se ha guardado. Corrija lo siguiente:
one-per-line = Uno por línea.
as-json = En formato JSON.
original-language = original
read-only = Solo lectura
read-only-text = Solo el miembro al que pertenece un registro puede modificarlo; este nodo escribe los registros de su propio miembro.
write-failed = No se pudo guardar
col-field = Campo
col-old = Antes
col-new = Después

## Membership administration
admin-members = Composición de la red
admin-intro = La lista de miembros de la red, que mantiene este nodo (el de la secretaría). Cada cambio se firma con la clave de la secretaría y llega a todos los nodos.
admin-keys = Claves de los nodos
admin-endpoints = Puntos de conexión
admin-endpoints-of = Puntos de conexión de { $name }
admin-set-endpoints = Establecer los puntos de conexión
admin-actions = Cambios
admin-suspend = Suspender
admin-readmit = Readmitir
admin-remove = Retirar
admin-revoke = Revocar esta clave
admin-add = Añadir un miembro
admin-join-request = La solicitud de adhesión del miembro (lo que mostró `focal-node join-request`)
admin-join-hint = JSON con member, node_key y endpoint.
admin-handover = Confirmar un traspaso de clave
admin-handover-label = El traspaso (en hexadecimal, generado por `focal-node key rotate`)
admin-review = Revisar el cambio
admin-confirm = Confirmar el cambio
admin-will = Si confirma, ocurrirá lo siguiente:
admin-do-it = Confirmar y firmar
admin-refused = No se puede efectuar este cambio:
admin-not-secretariat = La composición de la red la administra la secretaría
admin-not-secretariat-text = Solo el nodo de la secretaría modifica la lista de miembros de la red. En este nodo, la lista puede consultarse en el directorio.

## More views
view-practices = Prácticas
view-funding = Financiación
view-follow-up = Seguimiento de las decisiones
view-meetings = Reuniones
meetings-count = { $count ->
    [one] Una reunión
   *[other] { $count } reuniones
}
meeting-record = Registro de la reunión
filter-any = Todos
filter-kind = Tipo de miembro
filter-period-hint = Un año (2025) o un período (2025-01-01/2025-06-30, 2024/2026); cualquiera de los extremos puede quedar abierto.
filter-as-of = Fecha de referencia
filter-as-of-hint = Día en que se determina si una decisión está atrasada (hoy, si se deja vacío).
download-csv-totals = Descargar los totales en formato CSV
none-listed = Ninguno.
by-theme = Por tema
by-region = Por región
by-donor = Por donante
by-recipient = Por beneficiario
summary-practices = Prácticas
summary-commitments = Compromisos
summary-decisions = Decisiones
summary-open = Aún no cumplidas
overdue = Con retraso
summary-registered = Miembros inscritos
summary-delegates = Delegados
summary-ministers = Ministros que intervienen
summary-statements = Declaraciones
funding-totals = Totales por moneda
funding-no-amounts = No se han registrado montos.
funding-all = Todos los compromisos
funding-gaps = Carencias
unfunded-themes = Temas que ningún compromiso abarca
unfunded-recipients = Miembros que ningún compromiso financia
unfunded-members = Miembros que ni reciben ni aportan
not-registered = Miembros no inscritos
record-registration = Inscripción
record-statement = Declaración
update-link = actualización
col-practice-kind = Tipo
col-themes = Temas
col-recorded = Registrado
col-recorded-by = Registrado por
col-id = Identificador del registro
col-record = Registro
col-donor = Donante
col-recipient = Beneficiario
col-recipient-country = País del beneficiario
col-amount = Monto
col-amounts = Montos
col-currency = Moneda
col-commitments-with-amount = Compromisos con un monto en esta moneda
col-assistance = Tipo de asistencia
col-channel = Modalidad
col-period-start = Inicio del período
col-period-end = Fin del período
col-group = Grupo
col-party = Donante, beneficiario o tema
col-decision = Decisión
col-due = Plazo
col-status = Estado
col-responsible = Responsable
col-meeting = Reunión
col-meeting-id = Identificador de la reunión
col-meeting-kind = Tipo de reunión
col-updates = Última actualización de cada miembro
col-not-reported = No han informado
col-delegates = Delegados
col-minister-speaking = Interviene un ministro
col-speaker = Orador
col-language = Idioma
col-text = Texto
col-link = Enlace
col-dates = Fechas
col-city = Ciudad
theme-gender-analysis = Análisis de género
theme-participation-security-sector = Participación de las mujeres en el sector de la seguridad
theme-participation-peace-processes = Participación de las mujeres en los procesos de paz y la mediación
theme-senior-leadership = Mujeres en puestos directivos superiores
theme-removing-barriers = Eliminación de los obstáculos al empoderamiento de las mujeres
theme-violent-extremism = Prevención y lucha contra el extremismo violento
theme-climate-change = Cambio climático y seguridad
theme-crsv-justice = Violencia sexual relacionada con los conflictos y acceso a la justicia
theme-nap-design-monitoring-financing = Elaboración, seguimiento y financiación de los planes de acción nacionales
theme-disarmament-small-arms = Desarme, control de armamentos y armas pequeñas
theme-early-warning-preventive-diplomacy = Alerta temprana y diplomacia preventiva
theme-peacekeeping = Mantenimiento de la paz y operaciones de paz
theme-civil-society-partnerships = Alianzas con la sociedad civil y localización
theme-capacity-building = Formación y creación de capacidad
region-africa = Grupo de los Estados de África
region-asia-pacific = Grupo de los Estados de Asia y el Pacífico
region-eastern-europe = Grupo de los Estados de Europa Oriental
region-latin-america-caribbean = Grupo de los Estados de América Latina y el Caribe
region-western-europe-others = Grupo de los Estados de Europa Occidental y otros Estados
region-cross-regional = Interregional
region-unknown = Región no registrada
member-kind-state = Estado
member-kind-regional-organization = Organización regional
practice-kind-best-practice = Buena práctica
practice-kind-lesson-learned = Lección aprendida
assistance-financial = Financiera
assistance-technical = Técnica
assistance-training = Capacitación
channel-bilateral = Bilateral
channel-pooled-fund = Fondo mancomunado
channel-direct-to-civil-society = Directamente a la sociedad civil
decision-status-open = Abierta
decision-status-in-progress = En curso
decision-status-done = Cumplida
decision-status-dropped = Descartada
progress-exceeded = Superado
progress-met = Cumplido
progress-limited = Avances limitados
progress-none = Sin avances
responsible-secretariat = Secretaría
responsible-troika = Troika
responsible-all-members = Todos los miembros
meeting-kind-capital-annual = Reunión anual a nivel de capitales
meeting-kind-new-york-follow-up = Reunión de seguimiento en Nueva York
meeting-kind-ministerial-launch = Lanzamiento a nivel ministerial
meeting-kind-virtual = Reunión virtual
meeting-kind-working-group = Reunión de grupo de trabajo
history-range = Cambios { $first }–{ $last } de { $count }
history-pages = Páginas del historial
history-newer = Cambios más recientes
history-older = Cambios más antiguos
changed-since = Otra persona ha cambiado este registro desde que abrió este formulario. Sus cambios están abajo; donde coinciden con los suyos, el campo lo indica. Revíselos y guarde de nuevo.
changed-since-field = Cambiado entretanto por otra persona; ahora es: { $value }
busy = Ocupado
downloads-busy-text = Se están preparando otras descargas en este nodo. Inténtelo de nuevo dentro de un minuto.
